/**
 * Keys typed as text (a command line, a URL path): the snapshot's key encoding says what they mean
 * (reference `cli/config.py::coerce_cli_key`): u64be/u32be take integers, utf8 takes the text as a
 * string, raw takes its UTF-8 bytes.
 */
import type { KeyEncoding } from "@shardy/core";
import { ConfigValidationError } from "@shardy/errors";
import type { ReaderKey } from "./router.ts";

export function coerceTextKey(text: string, encoding: KeyEncoding): ReaderKey {
  switch (encoding) {
    case "u64be":
    case "u32be": {
      const t = text.trim();
      if (!/^[+-]?\d+$/.test(t)) {
        throw new ConfigValidationError(
          `key ${JSON.stringify(text)} is not an integer, but this snapshot's key_encoding is ${encoding}; ` +
            "pass a decimal integer key",
          { field: "key" },
        );
      }
      return BigInt(t);
    }
    case "utf8":
      return text;
    case "raw":
      return new TextEncoder().encode(text);
    default:
      throw new ConfigValidationError(
        `unknown key_encoding ${JSON.stringify(encoding)} in the manifest; expected u64be, u32be, utf8 or raw`,
        { field: "key_encoding" },
      );
  }
}
