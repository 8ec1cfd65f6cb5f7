/**
 * Which cel-spec conformance cases are in scope for shardy's kernel CEL, with the reason for
 * every exclusion. shardy's CEL routes rows of Arrow tables whose columns are int, uint, double,
 * string, bytes or bool; it also has timestamps and durations, and protobuf messages of types
 * the host declares (the suite's TestAllTypes, generated from their descriptors), with enums as
 * ints (cel-spec's legacy semantics) and the well-known types as CEL values. Not part of it:
 * strong enum types, proto2 extensions, Any values built from serialized bytes, static types of
 * message fields (messages are checked as dyn), IANA time zone names, and the optional extension
 * libraries. Everything else in the core suite is in scope and must pass.
 */

/** The conformance files that test CEL extension libraries, not the core language. */
export const EXTENSION_FILES: Readonly<Record<string, string>> = {
  bindings_ext: "cel.bind() is the 'bindings' extension library",
  block_ext: "cel.block() is an internal extension of cel-go's optimizer",
  encoders_ext: "base64 encode/decode is the 'encoders' extension library",
  math_ext: "math.* functions and bit operations are the 'math' extension library",
  optionals: "optional types (?. ?[] optional.of) are the 'optionals' extension",
  proto2_ext: "proto2 extension fields and their accessor functions",
  string_ext: "charAt/indexOf/format/... are the 'strings' extension library",
  macros2: "two-variable comprehensions and transformList/transformMap are the 'comprehensions' extension",
};

/** Core files (or file/section) that are out of scope as a whole. */
export const EXCLUDED_SECTIONS: Readonly<Record<string, string>> = {
  "enums/strong_proto2": "strong enum types (shardy has cel-spec's legacy semantics: enum values are ints)",
  "enums/strong_proto3": "strong enum types (shardy has cel-spec's legacy semantics: enum values are ints)",
  "proto2/extensions_has": "proto2 extension fields",
  "proto2/extensions_get": "proto2 extension fields",
  "wrappers/field_mask": "the JSON form of google.protobuf.FieldMask",
  "wrappers/empty": "the JSON form of google.protobuf.Empty",
  "type_deductions/type_parameters": "user-declared parametric functions (shardy has a fixed function set)",
  "type_deductions/functions":
    "user-declared functions (shardy has a fixed function set; nested_calls is covered elsewhere)",
};

/** Per-case rules for cases in otherwise in-scope sections. */
const CASE_RULES: readonly (readonly [RegExp, string])[] = [
  [
    /\.get\w+\('[A-Za-z_]+\/[A-Za-z_]+'\)/,
    "IANA time zone names need a time zone database (UTC and fixed offsets are in scope)",
  ],
  [/google\.protobuf\.Any\{type_url/, "builds an Any from serialized bytes (needs a protobuf wire decoder)"],
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
  if (file === "type_deductions" && /TestAllTypes|"messageType"/.test(json))
    return "static types of message fields (messages are type-checked as dyn)";
  for (const [re, reason] of CASE_RULES) if (re.test(json)) return reason;
  return undefined;
}
