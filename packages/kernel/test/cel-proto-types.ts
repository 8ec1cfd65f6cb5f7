/**
 * Protobuf descriptors (from @bufbuild/protobuf) as the kernel's message type declarations
 * (`@message`/`@field`/`@enum`/`@value` lines, ABI.md "Message types"), and protobuf-es messages
 * as kernel `CelValue`s, for the conformance suite's TestAllTypes messages.
 */
import {
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type Message,
  type Registry,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { type Any, anyUnpack, FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import type { CelValue } from "../src/index.ts";

/** The well-known types the kernel has as CEL values (never declared as messages). */
const WELL_KNOWN = new Set(
  [
    "Int32Value",
    "Int64Value",
    "UInt32Value",
    "UInt64Value",
    "FloatValue",
    "DoubleValue",
    "BoolValue",
    "StringValue",
    "BytesValue",
    "Any",
    "Value",
    "Struct",
    "ListValue",
    "Timestamp",
    "Duration",
  ].map((n) => `google.protobuf.${n}`),
);

const SCALARS: Partial<Record<ScalarType, string>> = {
  [ScalarType.DOUBLE]: "double",
  [ScalarType.FLOAT]: "float",
  [ScalarType.INT64]: "int64",
  [ScalarType.SINT64]: "int64",
  [ScalarType.SFIXED64]: "int64",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.FIXED64]: "uint64",
  [ScalarType.INT32]: "int32",
  [ScalarType.SINT32]: "int32",
  [ScalarType.SFIXED32]: "int32",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.FIXED32]: "uint32",
  [ScalarType.BOOL]: "bool",
  [ScalarType.STRING]: "string",
  [ScalarType.BYTES]: "bytes",
};

function scalarName(t: ScalarType): string {
  const n = SCALARS[t];
  if (!n) throw new Error(`no CEL kind for protobuf scalar type ${t}`);
  return n;
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** The element/value type of a field: a scalar kind, `enum:<name>` or `message:<name>`. */
function elementType(f: DescField): string {
  if (f.enum) return `enum:${f.enum.typeName}`;
  if (f.message) return `message:${f.message.typeName}`;
  return scalarName(f.scalar as ScalarType);
}

function fieldLine(f: DescField): string {
  let label: string;
  if (f.fieldKind === "list") label = "repeated";
  else if (f.fieldKind === "map") label = `map:${scalarName(f.mapKey)}`;
  else label = f.presence === FeatureSet_FieldPresence.IMPLICIT ? "implicit" : "explicit";
  let line = `@field ${f.number} ${f.name} ${label} ${elementType(f)}`;
  const d = f.fieldKind === "scalar" || f.fieldKind === "enum" ? f.getDefaultValue() : undefined;
  if (d !== undefined) {
    if (d instanceof Uint8Array) line += ` ${hex(d)}`;
    else if (typeof d === "string") line += ` ${hex(new TextEncoder().encode(d))}`;
    else line += ` ${String(d)}`;
  }
  return line;
}

/** Declarations of the messages and enums of `files` and every type their fields reach. */
export function celTypeDeclarations(files: readonly DescFile[]): string {
  const messages = new Map<string, DescMessage>();
  const enums = new Map<string, DescEnum>();
  const visit = (m: DescMessage) => {
    if (messages.has(m.typeName) || WELL_KNOWN.has(m.typeName)) return;
    messages.set(m.typeName, m);
    for (const n of m.nestedMessages) visit(n);
    for (const e of m.nestedEnums) enums.set(e.typeName, e);
    for (const f of m.fields) {
      if (f.message) visit(f.message);
      if (f.enum && f.enum.typeName !== "google.protobuf.NullValue") enums.set(f.enum.typeName, f.enum);
    }
  };
  for (const file of files) {
    for (const m of file.messages) visit(m);
    for (const e of file.enums) enums.set(e.typeName, e);
  }
  const lines: string[] = [];
  for (const m of messages.values()) lines.push(`@message ${m.typeName}`, ...m.fields.map(fieldLine));
  for (const e of enums.values()) {
    lines.push(`@enum ${e.typeName}`, ...e.values.map((v) => `@value ${v.name} ${v.number}`));
  }
  return lines.join("\n");
}

/** A JSON value (google.protobuf.Value) as a CEL value: numbers are doubles. */
function jsonToCel(j: unknown): CelValue {
  if (j === null) return { type: "null" };
  if (typeof j === "boolean") return { type: "bool", value: j };
  if (typeof j === "number") return { type: "double", value: j };
  if (typeof j === "string") return { type: "string", value: j };
  if (Array.isArray(j)) return { type: "list", value: j.map(jsonToCel) };
  return {
    type: "map",
    value: Object.entries(j as Record<string, unknown>).map(([k, v]) => [
      { type: "string", value: k },
      jsonToCel(v),
    ]),
  };
}

const NANOS = 1_000_000_000n;

/** A scalar field or wrapper value as CEL sees it (float fields hold float32 values). */
function scalarToCel(t: ScalarType, v: unknown): CelValue {
  switch (scalarName(t)) {
    case "int32":
    case "int64":
      return { type: "int", value: BigInt(v as number | bigint) };
    case "uint32":
    case "uint64":
      return { type: "uint", value: BigInt(v as number | bigint) };
    case "float":
      return { type: "double", value: Math.fround(v as number) };
    case "double":
      return { type: "double", value: v as number };
    case "bool":
      return { type: "bool", value: v as boolean };
    case "string":
      return { type: "string", value: v as string };
    default:
      return { type: "bytes", value: v as Uint8Array };
  }
}

/** A protobuf-es message as the CEL value the kernel has for it (well-known types unwrapped). */
export function messageToCel(desc: DescMessage, msg: Message, registry: Registry): CelValue {
  const name = desc.typeName;
  const r = reflect(desc, msg);
  const field = (n: string) => desc.fields.find((f) => f.name === n) as DescField;
  if (name === "google.protobuf.Any") {
    const inner = anyUnpack(msg as Any, registry);
    const innerDesc = inner && registry.getMessage(inner.$typeName);
    if (!inner || !innerDesc) throw new Error(`cannot unpack ${(msg as Any).typeUrl}`);
    return messageToCel(innerDesc, inner, registry);
  }
  if (
    name === "google.protobuf.Value" ||
    name === "google.protobuf.Struct" ||
    name === "google.protobuf.ListValue"
  )
    return jsonToCel(toJson(desc, msg));
  if (name === "google.protobuf.Timestamp" || name === "google.protobuf.Duration") {
    const ns = (r.get(field("seconds")) as bigint) * NANOS + BigInt(r.get(field("nanos")) as number);
    return { type: name === "google.protobuf.Timestamp" ? "timestamp" : "duration", value: ns };
  }
  if (WELL_KNOWN.has(name)) {
    const f = field("value");
    return scalarToCel(f.scalar as ScalarType, r.get(f));
  }
  const value: [number, CelValue][] = [];
  for (const f of desc.fields) {
    if (!r.isSet(f)) continue;
    value.push([f.number, fieldToCel(f, r.get(f), registry)]);
  }
  return { type: "message", typeName: name, value };
}

function elementToCel(f: DescField, v: unknown, registry: Registry): CelValue {
  if (f.message) {
    const m = v as { desc: DescMessage; message: Message };
    return messageToCel(m.desc, m.message, registry);
  }
  if (f.enum)
    return f.enum.typeName === "google.protobuf.NullValue"
      ? { type: "null" }
      : { type: "int", value: BigInt(v as number) };
  return scalarToCel(f.scalar as ScalarType, v);
}

function fieldToCel(f: DescField, v: unknown, registry: Registry): CelValue {
  if (f.fieldKind === "list") {
    return { type: "list", value: [...(v as Iterable<unknown>)].map((e) => elementToCel(f, e, registry)) };
  }
  if (f.fieldKind === "map") {
    const entries = [...(v as Map<unknown, unknown>)];
    return {
      type: "map",
      value: entries.map(([k, e]) => [scalarToCel(f.mapKey, k), elementToCel(f, e, registry)]),
    };
  }
  return elementToCel(f, v, registry);
}
