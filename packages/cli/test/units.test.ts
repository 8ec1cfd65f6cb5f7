/**
 * The CLI's pure parts, in process: settings resolution (options > env > reader.toml > defaults),
 * credentials profiles and the permission warning, --s3-option coercion, key coercion, output
 * rendering, durations and the progress bar.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ConfigValidationError } from "@shardy/errors";
import { tempDir } from "../../reader/test/helpers/snapshots.ts";
import { parseDuration } from "../src/durations.ts";
import { UsageError } from "../src/errors.ts";
import type { CliIo } from "../src/io.ts";
import { toJson } from "../src/json.ts";
import { coerceCliKey } from "../src/keys.ts";
import { formatRecord, renderTable } from "../src/output.ts";
import { runCli } from "../src/program.ts";
import { ProgressBar, type ProgressSnapshot } from "../src/progress.ts";
import { parseS3Flags } from "../src/s3-options.ts";
import { resolveSettings } from "../src/settings.ts";

function memoryIo(overrides: Partial<CliIo> = {}): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readStdin: async () => "",
    stdinStream: async function* () {},
    env: {},
    cwd: tempDir(),
    home: undefined,
    stderrIsTTY: false,
    ...overrides,
  };
}

describe("settings", () => {
  test("option beats env beats reader.toml; s3_prefix gives the current URL", () => {
    const cwd = tempDir();
    writeFileSync(
      path.join(cwd, "reader.toml"),
      '[reader]\ns3_prefix = "s3://bucket/from-toml"\nsqlite_mode = "range"\nlocal_root = "/cache"\n' +
        '[output]\nformat = "table"\nvalue_encoding = "hex"\nnull_repr = "-"\n',
    );
    const fromToml = resolveSettings({}, memoryIo({ cwd }));
    expect(fromToml.currentUrl).toBe("s3://bucket/from-toml/_CURRENT");
    expect(fromToml.output).toEqual({ format: "table", valueEncoding: "hex", nullRepr: "-" });
    expect(fromToml.sqlite).toEqual({ mode: "range", localRoot: "/cache" });
    const fromEnv = resolveSettings({}, memoryIo({ cwd, env: { SHARDY_CURRENT: "s3://b/env/_CURRENT" } }));
    expect(fromEnv.currentUrl).toBe("s3://b/env/_CURRENT");
    const fromOption = resolveSettings(
      { currentUrl: "/x/_CURRENT", outputFormat: "json" },
      memoryIo({ cwd, env: { SHARDY_CURRENT: "s3://b/env/_CURRENT" } }),
    );
    expect(fromOption.currentUrl).toBe("/x/_CURRENT");
    expect(fromOption.output.format).toBe("json");
  });

  test("reader.toml in ~/.config/shardy; SHARDY_CONFIG; bad values are named", () => {
    const home = tempDir();
    mkdirSync(path.join(home, ".config", "shardy"), { recursive: true });
    writeFileSync(
      path.join(home, ".config", "shardy", "reader.toml"),
      '[reader]\ncurrent_url = "/home/_CURRENT"\n',
    );
    expect(resolveSettings({}, memoryIo({ home })).currentUrl).toBe("/home/_CURRENT");
    const cwd = tempDir();
    writeFileSync(path.join(cwd, "other.toml"), '[reader]\nsqlite_mode = "sometimes"\n');
    expect(() => resolveSettings({}, memoryIo({ cwd, env: { SHARDY_CONFIG: "other.toml" } }))).toThrow(
      /sqlite_mode "sometimes" is not one of download, range, auto/,
    );
    expect(() => resolveSettings({ config: "missing.toml" }, memoryIo({ cwd }))).toThrow(/does not exist/);
    writeFileSync(path.join(cwd, "broken.toml"), "[reader]\nsqlite_mode = = 1\n");
    expect(() => resolveSettings({ config: "broken.toml" }, memoryIo({ cwd }))).toThrow(/not valid TOML/);
  });

  test("credentials.toml profiles map to S3 options; loose permissions warn; flags override", () => {
    const cwd = tempDir();
    const file = path.join(cwd, "credentials.toml");
    writeFileSync(
      file,
      '[default]\nendpoint_url = "http://127.0.0.1:9000"\naccess_key_id = "AK"\nsecret_access_key = "SK"\n' +
        'addressing_style = "path"\nconnect_timeout = 3\nmax_attempts = 4\n[other]\nregion = "eu-west-1"\n',
    );
    chmodSync(file, 0o644);
    const s = resolveSettings({ s3Option: ["max_attempts=9", "read_timeout=7"] }, memoryIo({ cwd }));
    expect(s.storeOptions.s3).toMatchObject({
      endpoint: "http://127.0.0.1:9000",
      credentials: { accessKeyId: "AK", secretAccessKey: "SK" },
      forcePathStyle: true,
      connectTimeoutMs: 3000,
      requestTimeoutMs: 7000,
      maxAttempts: 9,
    });
    expect(s.warnings.join()).toContain("chmod 600");
    chmodSync(file, 0o600);
    const other = resolveSettings({ profile: "other" }, memoryIo({ cwd }));
    expect(other.warnings).toEqual([]);
    expect(other.storeOptions.s3).toMatchObject({ region: "eu-west-1" });
    expect(other.storeOptions.s3?.credentials).toBeUndefined();
    expect(() => resolveSettings({ profile: "nope" }, memoryIo({ cwd }))).toThrow(
      /profile \[nope\] is not in/,
    );
  });

  test("--s3-option coercion and rejection", () => {
    expect(parseS3Flags(["verify_ssl=false", "connect_timeout=5", "region=us-east-2"])).toEqual({
      verify_ssl: false,
      connect_timeout: 5,
      region: "us-east-2",
    });
    expect(() => parseS3Flags(["bogus=1"])).toThrow(UsageError);
    expect(() => parseS3Flags(["max_attempts=many"])).toThrow(/integer/);
    expect(() => parseS3Flags(["endpoint_url"])).toThrow(/KEY=VALUE/);
  });

  test("--ref and --offset together are a usage error", () => {
    expect(() => resolveSettings({ ref: "s3://b/p/manifests/x/manifest", offset: "1" }, memoryIo())).toThrow(
      UsageError,
    );
  });
});

describe("keys, durations, output", () => {
  test("CLI keys follow the snapshot's key encoding", () => {
    expect(coerceCliKey("42", "u64be")).toBe(42n);
    expect(coerceCliKey("18446744073709551615", "u64be")).toBe(2n ** 64n - 1n);
    expect(coerceCliKey(" 7 ", "u32be")).toBe(7n);
    expect(coerceCliKey("héllo", "utf8")).toBe("héllo");
    expect(coerceCliKey("ab", "raw")).toEqual(new Uint8Array([0x61, 0x62]));
    expect(() => coerceCliKey("4.5", "u64be")).toThrow(ConfigValidationError);
    expect(() => coerceCliKey("x", "weird" as never)).toThrow(/unknown key_encoding "weird"/);
  });

  test("durations", () => {
    expect(parseDuration("7d", "--older-than")).toBe(7 * 86_400_000);
    expect(parseDuration("24h", "--older-than")).toBe(86_400_000);
    expect(parseDuration("90", "--older-than")).toBe(90_000);
    expect(() => parseDuration("soon", "--older-than")).toThrow(/--older-than "soon" is not a duration/);
  });

  test("JSON keeps u64 integers exact and dates as ISO", () => {
    expect(
      toJson({ a: 2n ** 64n - 1n, d: new Date(Date.UTC(2026, 0, 2)), skip: undefined, b: [1, "é"] }),
    ).toBe('{"a":18446744073709551615,"d":"2026-01-02T00:00:00.000Z","b":[1,"é"]}');
    expect(toJson({ x: [], y: {} }, 2)).toBe('{\n  "x": [],\n  "y": {}\n}');
  });

  test("table and text rendering", () => {
    expect(
      renderTable([
        { a: 1, bb: "x" },
        { a: 22, c: null },
      ]),
    ).toBe("a   bb  c\n--  --  -\n1   x\n22\n");
    const out = { format: "text" as const, valueEncoding: "utf8" as const, nullRepr: "<none>" };
    expect(formatRecord({ op: "get", key: "1", found: false, value: "<none>" }, out)).toBe("<none>\n");
    expect(
      formatRecord(
        {
          op: "multiget",
          results: [
            { key: "1", found: true, value: "v" },
            { key: "2", found: false },
          ],
        },
        out,
      ),
    ).toBe("1\tv\n2\t<none>\n");
    expect(formatRecord({ op: "route", key: "1", db_id: 3 }, out)).toBe("3\n");
  });
});

describe("progress", () => {
  const snap = (over: Partial<ProgressSnapshot>): ProgressSnapshot => ({
    phase: "reading",
    rowsRead: 500_000,
    bytesRead: 50,
    totalBytes: 100,
    totalRows: null,
    shardsDone: 0,
    shardsTotal: null,
    elapsedMs: 2000,
    rowsPerSecond: 250_000,
    etaMs: 2000,
    ...over,
  });

  test("TTY: one redrawn line with percent, rows/s and ETA", () => {
    const out: string[] = [];
    const bar = new ProgressBar({ write: (t) => void out.push(t), tty: true, width: 10 });
    bar.update(snap({}));
    bar.finish();
    expect(out[0]).toBe("\r[====>     ]  50%  500,000 rows  250,000 rows/s  ETA 0:02  reading 0:02\x1b[K");
    expect(out[1]).toBe("\n");
  });

  test("not a TTY: periodic lines, and always on a phase change", () => {
    const out: string[] = [];
    let now = 0;
    const bar = new ProgressBar({
      write: (t) => void out.push(t),
      tty: false,
      intervalMs: 1000,
      now: () => now,
    });
    bar.update(snap({}));
    now = 500;
    bar.update(snap({ rowsRead: 600_000 }));
    now = 600;
    bar.update(snap({ phase: "writing", shardsDone: 1, shardsTotal: 4, etaMs: 1000 }));
    now = 2000;
    bar.update(snap({ phase: "writing", shardsDone: 3, shardsTotal: 4, etaMs: 100 }));
    expect(out).toEqual([
      "[shardy] 50%  500,000 rows  250,000 rows/s  ETA 0:02  reading 0:02\n",
      "[shardy] 25%  500,000 rows  250,000 rows/s  ETA 0:01  shards 1/4  writing 0:02\n",
      "[shardy] 75%  500,000 rows  250,000 rows/s  ETA 0:00  shards 3/4  writing 0:02\n",
    ]);
  });
});

describe("runCli in process", () => {
  test("--help on every verb exits 0 and names the verb", async () => {
    for (const verb of [
      "get",
      "multiget",
      "route",
      "info",
      "shards",
      "health",
      "history",
      "rollback",
      "cleanup",
    ]) {
      const io = memoryIo();
      expect(await runCli([verb, "--help"], io)).toBe(0);
      expect(io.out.join("")).toContain(`Usage: shardy ${verb}`);
      expect(io.out.join("")).toContain("--current-url"); // global options shown too
    }
    const io = memoryIo();
    expect(await runCli(["--version"], io)).toBe(0);
    expect(io.out.join("").trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test("unknown verbs and options are usage errors (exit 2)", async () => {
    const io = memoryIo();
    expect(await runCli(["frobnicate"], io)).toBe(2);
    expect(io.err.join("")).toContain("unknown command");
    expect(await runCli(["get"], memoryIo())).toBe(2);
    expect(await runCli([], memoryIo())).toBe(2);
  });
});
