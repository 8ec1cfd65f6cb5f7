/**
 * The part-1 codecs and time formats this folder depends on, gathered in one place so the
 * dependency is visible.
 */

export { compareCodePoints } from "../json/python-json.ts";
export { buildManifestBytes, parseManifestBytes } from "../manifest/codec.ts";
export { buildCurrentBytes, parseCurrentBytes } from "../manifest/current.ts";
export {
  CURRENT_POINTER_NAME,
  currentPointerKeyFor,
  MANIFEST_NAME,
  MANIFESTS_DIR,
  manifestKeyFor,
  parseManifestDirName,
} from "../manifest/layout.ts";
export { formatKeyTimestamp, formatPydanticDatetime, parseIsoDatetime } from "../time/index.ts";
export { fromEpochMicros, toEpochMicros, utcNow } from "../time/precise-date.ts";
