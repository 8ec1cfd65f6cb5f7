/** JSON for CLI output: the core's `toJson` (bigints exact, Dates ISO, bytes base64). */
export { toJson } from "@shardy/core";
