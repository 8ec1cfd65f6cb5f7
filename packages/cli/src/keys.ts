/**
 * Command-line keys are text; the snapshot's key encoding says what they mean. The rule lives in
 * the reader (`coerceTextKey`), shared with the HTTP server.
 */
export { coerceTextKey as coerceCliKey } from "@shardy/reader";
