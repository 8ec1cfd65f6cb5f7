/**
 * Which cel-spec conformance cases are in scope for shardy's kernel CEL, with the reason for
 * every exclusion. shardy's CEL routes rows of Arrow tables whose columns are int, uint, double,
 * string, bytes or bool: protobuf messages (and the enums, wrappers, Any and JSON types that
 * come with them), timestamps/durations and the optional extension libraries are not part of
 * that language. Everything else in the core suite is in scope and must pass.
 */

/** The conformance files that test CEL extension libraries, not the core language. */
export const EXTENSION_FILES: Readonly<Record<string, string>> = {
  bindings_ext: "cel.bind() is the 'bindings' extension library",
  block_ext: "cel.block() is an internal extension of cel-go's optimizer",
  encoders_ext: "base64 encode/decode is the 'encoders' extension library",
  math_ext: "math.* functions and bit operations are the 'math' extension library",
  optionals: "optional types (?. ?[] optional.of) are the 'optionals' extension",
  proto2_ext: "proto2 extension fields need protobuf messages and the extension library",
  string_ext: "charAt/indexOf/format/... are the 'strings' extension library",
  macros2: "two-variable comprehensions and transformList/transformMap are the 'comprehensions' extension",
};

/** Core files (or file/section) that are out of scope as a whole. */
export const EXCLUDED_SECTIONS: Readonly<Record<string, string>> = {
  dynamic: "conversions into and out of protobuf message fields, Any and google.protobuf.Value/Struct",
  enums: "protobuf enum types",
  proto2: "protobuf proto2 messages (field presence, defaults, extensions)",
  proto3: "protobuf proto3 messages",
  wrappers: "protobuf wrapper and well-known message types",
  timestamps: "google.protobuf.Timestamp/Duration values and their functions (no such columns)",
  "comparisons/eq_wrapper": "equality of protobuf wrapper messages",
  "type_deductions/wrappers": "type deduction for protobuf wrapper fields",
  "type_deductions/legacy_nullable_types": "null assignability to message-typed parameters",
  "type_deductions/type_parameters": "user-declared parametric functions (shardy has a fixed function set)",
  "type_deductions/functions":
    "user-declared functions (shardy has a fixed function set; nested_calls is covered elsewhere)",
};

/** Per-case rules for cases in otherwise in-scope sections. */
const CASE_RULES: readonly (readonly [RegExp, string])[] = [
  [
    /TestAllTypes|NestedTestAllTypes|google\.protobuf|"messageType"|"wellKnown"|"wrapper"|"objectValue"|"enumValue"/,
    "uses protobuf messages",
  ],
  [/"container":"cel\.expr/, "resolves names in a protobuf package"],
  [/\btimestamp\(|\bduration\(/, "uses timestamps or durations"],
  [/optional\./, "uses optional types (extension)"],
  [/"function":/, "declares its own functions (shardy has a fixed function set)"],
  [/"anyEvalErrors"|"unknown"|"anyUnknowns"/, "expects unknown-value semantics (partial evaluation)"],
];

/** Why a case is out of scope, or `undefined` when it is in scope. */
export function exclusionReason(file: string, section: string, json: string): string | undefined {
  const ext = EXTENSION_FILES[file];
  if (ext !== undefined) return `extension: ${ext}`;
  const whole = EXCLUDED_SECTIONS[`${file}/${section}`] ?? EXCLUDED_SECTIONS[file];
  if (whole !== undefined) return whole;
  for (const [re, reason] of CASE_RULES) if (re.test(json)) return reason;
  return undefined;
}
