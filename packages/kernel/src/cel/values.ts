/**
 * CEL values as JS sees them, and their binary encoding for the kernel's scalar calls
 * (ABI.md, "CEL values"): a tag byte, then the payload, little-endian.
 */
import { ConfigValidationError } from "@shardy/errors";

export type CelValue =
  | { readonly type: "null" }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "int"; readonly value: bigint }
  | { readonly type: "uint"; readonly value: bigint }
  | { readonly type: "double"; readonly value: number }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "bytes"; readonly value: Uint8Array }
  | { readonly type: "list"; readonly value: readonly CelValue[] }
  | { readonly type: "map"; readonly value: readonly (readonly [CelValue, CelValue])[] }
  | { readonly type: "type"; readonly value: string }
  /** google.protobuf.Timestamp: nanoseconds since the Unix epoch (years 0001-9999). */
  | { readonly type: "timestamp"; readonly value: bigint }
  /** google.protobuf.Duration: nanoseconds (signed 64-bit). */
  | { readonly type: "duration"; readonly value: bigint }
  /** A protobuf message of a declared type: its set fields as (field number, value), in field order. */
  | {
      readonly type: "message";
      readonly typeName: string;
      readonly value: readonly (readonly [number, CelValue])[];
    };

export type CelValueType = CelValue["type"];

/** Tags of the encoding; also the per-row tags of a batch result. */
export const CelTag = {
  null: 0,
  bool: 1,
  int: 2,
  uint: 3,
  double: 4,
  string: 5,
  bytes: 6,
  list: 7,
  map: 8,
  type: 9,
  timestamp: 10,
  duration: 11,
  message: 12,
} as const satisfies Record<CelValueType, number>;

/** Encoded in place of a value: the variable has no binding. */
export const CEL_ABSENT = 0xff;

export const TAG_NAMES: readonly CelValueType[] = [
  "null",
  "bool",
  "int",
  "uint",
  "double",
  "string",
  "bytes",
  "list",
  "map",
  "type",
  "timestamp",
  "duration",
  "message",
];

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;
const NANOS = 1_000_000_000n;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Growable little-endian byte writer. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.length++] = v;
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }

  u64(v: bigint): void {
    this.room(8);
    this.view.setBigUint64(this.length, BigInt.asUintN(64, v), true);
    this.length += 8;
  }

  i32(v: number): void {
    this.room(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export function encodeValue(w: ByteWriter, v: CelValue): void {
  w.u8(CelTag[v.type]);
  switch (v.type) {
    case "null":
      return;
    case "bool":
      w.u8(v.value ? 1 : 0);
      return;
    case "int":
      if (v.value < I64_MIN || v.value > I64_MAX) throw range("int", v.value);
      w.u64(v.value);
      return;
    case "uint":
      if (v.value < 0n || v.value > U64_MAX) throw range("uint", v.value);
      w.u64(v.value);
      return;
    case "double":
      w.f64(v.value);
      return;
    case "string":
    case "type": {
      const b = encoder.encode(v.value);
      w.u32(b.length);
      w.bytes(b);
      return;
    }
    case "bytes":
      w.u32(v.value.length);
      w.bytes(v.value);
      return;
    case "list":
      w.u32(v.value.length);
      for (const e of v.value) encodeValue(w, e);
      return;
    case "map":
      w.u32(v.value.length);
      for (const [k, e] of v.value) {
        encodeValue(w, k);
        encodeValue(w, e);
      }
      return;
    case "timestamp":
    case "duration": {
      // Timestamps: nanoseconds in [0, 1e9); durations: nanoseconds with the seconds' sign.
      const floor = v.type === "timestamp" && v.value < 0n && v.value % NANOS !== 0n;
      const secs = v.value / NANOS - (floor ? 1n : 0n);
      if (secs < I64_MIN || secs > I64_MAX) throw range(v.type, v.value);
      w.u64(secs);
      w.i32(Number(v.value - secs * NANOS));
      return;
    }
    case "message": {
      const name = encoder.encode(v.typeName);
      w.u32(name.length);
      w.bytes(name);
      w.u32(v.value.length);
      for (const [number, e] of v.value) {
        w.u32(number);
        encodeValue(w, e);
      }
      return;
    }
  }
}

/** i64 seconds and i32 nanoseconds at `at` as nanoseconds. */
export function readSecondsNanos(view: DataView, at: number): bigint {
  return view.getBigInt64(at, true) * NANOS + BigInt(view.getInt32(at + 8, true));
}

function range(type: string, value: bigint): ConfigValidationError {
  return new ConfigValidationError(`${value} is outside the range of CEL ${type}`);
}

/** Reads encoded values from `bytes`. */
export class ValueReader {
  private at = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.at;
  }

  i32(): number {
    const v = this.view.getInt32(this.at, true);
    this.at += 4;
    return v;
  }

  value(): CelValue {
    const tag = this.bytes[this.at++];
    const u32 = () => {
      const n = this.view.getUint32(this.at, true);
      this.at += 4;
      return n;
    };
    const slice = (n: number) => {
      const b = this.bytes.slice(this.at, this.at + n);
      this.at += n;
      return b;
    };
    switch (tag) {
      case CelTag.null:
        return { type: "null" };
      case CelTag.bool:
        return { type: "bool", value: this.bytes[this.at++] !== 0 };
      case CelTag.int: {
        const value = this.view.getBigInt64(this.at, true);
        this.at += 8;
        return { type: "int", value };
      }
      case CelTag.uint: {
        const value = this.view.getBigUint64(this.at, true);
        this.at += 8;
        return { type: "uint", value };
      }
      case CelTag.double: {
        const value = this.view.getFloat64(this.at, true);
        this.at += 8;
        return { type: "double", value };
      }
      case CelTag.string:
        return { type: "string", value: decoder.decode(slice(u32())) };
      case CelTag.bytes:
        return { type: "bytes", value: slice(u32()) };
      case CelTag.type:
        return { type: "type", value: decoder.decode(slice(u32())) };
      case CelTag.timestamp:
      case CelTag.duration: {
        const value = readSecondsNanos(this.view, this.at);
        this.at += 12;
        return { type: tag === CelTag.timestamp ? "timestamp" : "duration", value };
      }
      case CelTag.message: {
        const typeName = decoder.decode(slice(u32()));
        const n = u32();
        const value: [number, CelValue][] = [];
        for (let i = 0; i < n; i++) {
          const number = u32();
          value.push([number, this.value()]);
        }
        return { type: "message", typeName, value };
      }
      case CelTag.list: {
        const n = u32();
        const value: CelValue[] = [];
        for (let i = 0; i < n; i++) value.push(this.value());
        return { type: "list", value };
      }
      case CelTag.map: {
        const n = u32();
        const value: [CelValue, CelValue][] = [];
        for (let i = 0; i < n; i++) {
          const k = this.value();
          value.push([k, this.value()]);
        }
        return { type: "map", value };
      }
      default:
        throw new Error(`bad CEL value tag ${tag} at byte ${this.at - 1}`);
    }
  }
}

/** A short rendering of a value for messages (`1`, `2u`, `"eu"`, `b"\x00"`). */
export function renderCelValue(v: CelValue): string {
  switch (v.type) {
    case "null":
      return "null";
    case "bool":
    case "int":
      return String(v.value);
    case "uint":
      return `${v.value}u`;
    case "double":
      return Number.isInteger(v.value) ? `${v.value}.0` : String(v.value);
    case "string":
      return JSON.stringify(v.value.length > 64 ? `${v.value.slice(0, 64)}...` : v.value);
    case "bytes": {
      let s = 'b"';
      for (const c of v.value.subarray(0, 32)) {
        s +=
          c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c
            ? String.fromCharCode(c)
            : `\\x${c.toString(16).padStart(2, "0")}`;
      }
      return `${s}${v.value.length > 32 ? "..." : ""}"`;
    }
    case "list":
      return `[${v.value.map(renderCelValue).join(", ")}]`;
    case "map":
      return `{${v.value.map(([k, e]) => `${renderCelValue(k)}: ${renderCelValue(e)}`).join(", ")}}`;
    case "type":
      return v.value;
    case "timestamp":
      return `timestamp("${formatTimestamp(v.value)}")`;
    case "duration":
      return `duration("${formatNanos(v.value < 0n ? -v.value : v.value, v.value < 0n ? "-" : "")}s")`;
    case "message":
      return `${v.typeName}{${v.value.map(([n, e]) => `${n}: ${renderCelValue(e)}`).join(", ")}}`;
  }
}

/** RFC 3339 in UTC with as many fraction digits as needed, as CEL's `string(timestamp)`. */
function formatTimestamp(ns: bigint): string {
  const floor = ns < 0n && ns % NANOS !== 0n;
  const secs = ns / NANOS - (floor ? 1n : 0n);
  const day = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return `${day}${fraction(ns - secs * NANOS)}Z`;
}

function formatNanos(ns: bigint, sign: string): string {
  return `${sign}${ns / NANOS}${fraction(ns % NANOS)}`;
}

function fraction(nanos: bigint): string {
  return nanos === 0n ? "" : `.${String(nanos).padStart(9, "0").replace(/0+$/, "")}`;
}
