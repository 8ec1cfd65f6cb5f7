/**
 * The `_CURRENT` pointer (reference format §3.2): UTF-8 JSON written by
 * `json.dumps(model_dump(mode="json"), sort_keys=True, separators=(",", ":"))`.
 */
import { ManifestParseError } from "@shardy/errors";
import { describeJson, type PyJsonValue, pyJsonDumpsCompact } from "../json/python-json.ts";
import { pyJsonLoads } from "../json/python-json-parse.ts";
import { formatPydanticDatetime, parseIsoDatetime } from "../time/index.ts";
import { CURRENT_FORMAT_VERSION, type CurrentPointer } from "./types.ts";

/** The exact bytes the reference writes for `pointer`. */
export function buildCurrentBytes(pointer: CurrentPointer): Uint8Array {
  const wire: Record<string, PyJsonValue> = {
    format_version: pointer.formatVersion,
    manifest_content_type: pointer.manifestContentType,
    manifest_ref: pointer.manifestRef,
    run_id: pointer.runId,
    updated_at: formatPydanticDatetime(pointer.updatedAt),
  };
  return new TextEncoder().encode(pyJsonDumpsCompact(wire));
}

/**
 * Reads a `_CURRENT` payload. Unknown fields are ignored and any ISO-8601 `updated_at` is
 * accepted (like the reference); anything malformed is a `ManifestParseError`.
 */
export function parseCurrentBytes(bytes: Uint8Array): CurrentPointer {
  let doc: PyJsonValue;
  try {
    doc = pyJsonLoads(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new ManifestParseError(`_CURRENT is not valid UTF-8 JSON: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ManifestParseError(`_CURRENT must be a JSON object, got ${describeJson(doc)}`);
  }
  const obj = doc as Record<string, PyJsonValue>;
  const text = (name: string): string => {
    const v = obj[name];
    if (typeof v !== "string") {
      throw new ManifestParseError(
        `_CURRENT field ${name} must be a string, got ${v === undefined ? "nothing" : describeJson(v)}`,
      );
    }
    return v;
  };
  const updatedText = text("updated_at");
  let updatedAt: Date;
  try {
    updatedAt = parseIsoDatetime(updatedText);
  } catch (err) {
    throw new ManifestParseError(
      `_CURRENT field updated_at is not a datetime: ${JSON.stringify(updatedText)}`,
      {
        cause: err,
      },
    );
  }
  const fv = obj.format_version;
  let formatVersion = CURRENT_FORMAT_VERSION;
  if (fv !== undefined) {
    if (typeof fv === "bigint" || !Number.isSafeInteger(fv)) {
      throw new ManifestParseError(
        `_CURRENT field format_version must be an integer, got ${describeJson(fv)}`,
      );
    }
    formatVersion = fv as number;
  }
  return {
    manifestRef: text("manifest_ref"),
    manifestContentType: text("manifest_content_type"),
    runId: text("run_id"),
    updatedAt,
    formatVersion,
  };
}
