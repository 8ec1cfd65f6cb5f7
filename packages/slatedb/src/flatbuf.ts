/**
 * Hand-written FlatBuffers access for SlateDB's schemas (`schemas/{sst,manifest,common}.fbs`), on
 * top of the `flatbuffers` npm runtime. Reading checks every position against the buffer, so a
 * corrupt or truncated object fails with a clear error instead of returning garbage.
 */
import { ByteBuffer } from "flatbuffers";

/** Thrown by the readers below; callers wrap it into their own typed error with context. */
export class FlatBufferFormatError extends Error {}

/** A table inside a buffer: `pos` is the table start (the offset its vtable is relative to). */
export class FbTable {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {}

  /** The root table of a buffer that has no file identifier (SlateDB writes none). */
  static root(bytes: Uint8Array, what: string): FbTable {
    if (bytes.length < 8) throw new FlatBufferFormatError(`${what}: ${bytes.length} bytes is too short`);
    const bb = new ByteBuffer(bytes);
    const pos = bb.readUint32(0);
    const t = new FbTable(bb, pos);
    t.check(pos, 4, what);
    t.vtable(what);
    return t;
  }

  private check(at: number, size: number, what: string): void {
    if (at < 0 || at + size > this.bb.capacity()) {
      throw new FlatBufferFormatError(
        `${what}: offset ${at} (+${size}) is outside the ${this.bb.capacity()}-byte buffer`,
      );
    }
  }

  private vtable(what: string): { at: number; size: number } {
    const at = this.pos - this.bb.readInt32(this.pos);
    this.check(at, 4, what);
    const size = this.bb.readUint16(at);
    this.check(at, size, what);
    return { at, size };
  }

  /** Absolute position of field `slot`, or 0 when the field is absent. */
  field(slot: number): number {
    const vt = this.pos - this.bb.readInt32(this.pos);
    const vo = 4 + 2 * slot;
    if (vo >= this.bb.readUint16(vt)) return 0;
    const rel = this.bb.readUint16(vt + vo);
    return rel === 0 ? 0 : this.pos + rel;
  }

  has(slot: number): boolean {
    return this.field(slot) !== 0;
  }

  u64(slot: number, dflt = 0n): bigint {
    const at = this.field(slot);
    if (at === 0) return dflt;
    this.check(at, 8, `u64 field ${slot}`);
    return this.bb.readUint64(at);
  }

  i64(slot: number, dflt = 0n): bigint {
    const at = this.field(slot);
    if (at === 0) return dflt;
    this.check(at, 8, `i64 field ${slot}`);
    return this.bb.readInt64(at);
  }

  u32(slot: number, dflt = 0): number {
    const at = this.field(slot);
    if (at === 0) return dflt;
    this.check(at, 4, `u32 field ${slot}`);
    return this.bb.readUint32(at);
  }

  u16(slot: number): number | undefined {
    const at = this.field(slot);
    if (at === 0) return undefined;
    this.check(at, 2, `u16 field ${slot}`);
    return this.bb.readUint16(at);
  }

  u8(slot: number, dflt = 0): number {
    const at = this.field(slot);
    if (at === 0) return dflt;
    this.check(at, 1, `u8 field ${slot}`);
    return this.bb.readUint8(at);
  }

  bool(slot: number): boolean {
    return this.u8(slot) !== 0;
  }

  /** A sub-table, or `undefined` when absent. */
  table(slot: number): FbTable | undefined {
    const at = this.field(slot);
    if (at === 0) return undefined;
    this.check(at, 4, `table field ${slot}`);
    const t = new FbTable(this.bb, at + this.bb.readUint32(at));
    t.check(t.pos, 4, `table field ${slot}`);
    t.vtable(`table field ${slot}`);
    return t;
  }

  /** A `[ubyte]` vector as a view into the buffer (no copy), or `undefined` when absent. */
  bytes(slot: number): Uint8Array | undefined {
    const at = this.field(slot);
    if (at === 0) return undefined;
    this.check(at, 4, `vector field ${slot}`);
    const vec = at + this.bb.readUint32(at);
    this.check(vec, 4, `vector field ${slot}`);
    const len = this.bb.readUint32(vec);
    this.check(vec + 4, len, `vector field ${slot}`);
    return this.bb.bytes().subarray(vec + 4, vec + 4 + len);
  }

  string(slot: number): string | undefined {
    const b = this.bytes(slot);
    return b === undefined ? undefined : new TextDecoder().decode(b);
  }

  /** A vector of tables, or `undefined` when absent. */
  tables(slot: number): FbTable[] | undefined {
    const at = this.field(slot);
    if (at === 0) return undefined;
    this.check(at, 4, `vector field ${slot}`);
    const vec = at + this.bb.readUint32(at);
    this.check(vec, 4, `vector field ${slot}`);
    const len = this.bb.readUint32(vec);
    this.check(vec + 4, 4 * len, `vector field ${slot}`);
    const out: FbTable[] = new Array(len);
    for (let i = 0; i < len; i++) {
      const el = vec + 4 + 4 * i;
      const t = new FbTable(this.bb, el + this.bb.readUint32(el));
      t.check(t.pos, 4, `element ${i} of vector field ${slot}`);
      t.vtable(`element ${i} of vector field ${slot}`);
      out[i] = t;
    }
    return out;
  }

  /** Like `table`, but the field is `(required)` in the schema. */
  requiredTable(slot: number, what: string): FbTable {
    const t = this.table(slot);
    if (t === undefined) throw new FlatBufferFormatError(`${what} is required but missing`);
    return t;
  }

  requiredTables(slot: number, what: string): FbTable[] {
    const t = this.tables(slot);
    if (t === undefined) throw new FlatBufferFormatError(`${what} is required but missing`);
    return t;
  }
}
