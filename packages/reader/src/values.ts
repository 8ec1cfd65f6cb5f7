/**
 * How values are shown as text (reference CLI `value_encoding`): base64 (default), hex, or UTF-8.
 * Web-standard only, so servers and edge workers share it with the CLI.
 */
import { bytesToBase64 } from "@shardy/core";

export const VALUE_ENCODINGS = ["base64", "hex", "utf8"] as const;
export type ValueEncoding = (typeof VALUE_ENCODINGS)[number];

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const decoder = new TextDecoder();

export function encodeValue(value: Uint8Array, encoding: ValueEncoding): string {
  switch (encoding) {
    case "hex": {
      let out = "";
      for (const b of value) out += HEX[b];
      return out;
    }
    case "utf8":
      return decoder.decode(value);
    default:
      return bytesToBase64(value);
  }
}
