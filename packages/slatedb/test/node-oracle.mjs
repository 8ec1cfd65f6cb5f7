// The official Node binding `@slatedb/uniffi` (SlateDB 0.12.1) as a test oracle, run under Node
// in its own process. Same JSON protocol as test/python/slatedb_oracle.py ("read" and "write").
import { createHash } from "node:crypto";
import { DbBuilder, DbReaderBuilder, FlushType, ObjectStore, Settings, WriteBatch } from "@slatedb/uniffi";

// Pending native futures do not keep Node's event loop alive on their own.
const keepAlive = setInterval(() => {}, 1000);
const hexOf = (b) => Buffer.from(b).toString("hex");
const digest = (b) => createHash("sha256").update(b).digest("hex");
const fromHex = (h) => new Uint8Array(Buffer.from(h, "hex"));

async function drain(it) {
  const out = [];
  for (let kv = await it.next(); kv !== undefined; kv = await it.next())
    out.push([hexOf(kv.key), digest(kv.value)]);
  return out;
}

async function read(req, store) {
  const builder = new DbReaderBuilder(req.path, store);
  if (req.checkpoint) builder.with_checkpoint_id(req.checkpoint);
  const reader = await builder.build();
  try {
    const values = [];
    for (const k of req.keys ?? []) {
      const v = await reader.get(fromHex(k));
      values.push(v === undefined ? null : digest(v));
    }
    const all = { start: undefined, start_inclusive: true, end: undefined, end_inclusive: false };
    const scan = req.scan ? await drain(await reader.scan(all)) : null;
    const prefixRows = req.prefix != null ? await drain(await reader.scan_prefix(fromHex(req.prefix))) : null;
    return { values, scan, prefix_rows: prefixRows };
  } finally {
    await reader.shutdown();
  }
}

async function write(req, store) {
  const settings = Settings.default();
  for (const [k, v] of Object.entries(req.settings ?? {})) settings.set(k, JSON.stringify(v));
  const builder = new DbBuilder(req.path, store);
  builder.with_settings(settings);
  const db = await builder.build();
  try {
    for (const step of req.steps) {
      if (step.put) {
        const batch = new WriteBatch();
        for (const [k, v] of step.put) batch.put(fromHex(k), fromHex(v));
        await db.write(batch);
      } else if (step.delete) {
        const batch = new WriteBatch();
        for (const k of step.delete) batch.delete(fromHex(k));
        await db.write(batch);
      } else if (step.flush) {
        await db.flush_with_options({
          flush_type: step.flush === "memtable" ? FlushType.MemTable : FlushType.Wal,
        });
      } else {
        throw new Error(`unknown step ${JSON.stringify(step)}`);
      }
    }
  } finally {
    await db.shutdown();
  }
  return { ok: true };
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
const store = ObjectStore.resolve(req.url);
try {
  const out = req.op === "read" ? await read(req, store) : await write(req, store);
  process.stdout.write(JSON.stringify(out));
} finally {
  clearInterval(keepAlive);
}
