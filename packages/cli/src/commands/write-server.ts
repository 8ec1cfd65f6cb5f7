/**
 * `shardy write-server`: one long-lived process running many `write-shard` calls, so an engine
 * worker pays the start-up and warm-up (module load, kernel compile, JIT) once instead of per
 * partition. Requests arrive on stdin as frames, each answered by one JSON line on stdout:
 *
 *   request:  u32 LE header length, header JSON `{"argv": [...]}` (a `write-shard` command line),
 *             u64 LE body length, body (the Arrow IPC stream that call reads as its stdin)
 *   response: `{"code": <exit code>, "stdout": "...", "stderr": "..."}` and a newline
 *
 * Each call runs exactly as a `shardy <argv>` process would (same parsing, checks, output and
 * error records). The server exits when stdin ends; a malformed frame ends it with exit 1.
 */
import { ConfigValidationError } from "@shardy/errors";
import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { ExitCode } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { type ProgramState, verb } from "../program.ts";

type RunCli = (argv: readonly string[], io: CliIo) => Promise<number>;

/** Exact-length reads over a chunked byte stream. */
class FrameReader {
  readonly #chunks: AsyncIterator<Uint8Array>;
  #head: Uint8Array = new Uint8Array(0);

  constructor(chunks: AsyncIterable<Uint8Array>) {
    this.#chunks = chunks[Symbol.asyncIterator]();
  }

  /** `n` bytes; null when the stream ends before the first of them and `endOk`. */
  async exactly(n: number, endOk = false): Promise<Uint8Array | null> {
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n) {
      if (this.#head.length === 0) {
        const next = await this.#chunks.next();
        if (next.done) {
          if (have === 0 && endOk) return null;
          throw new ConfigValidationError(
            `write-server: stdin ended inside a request frame (${have} of ${n} bytes): the client stopped mid-request`,
            { field: "input" },
          );
        }
        this.#head = next.value;
        continue;
      }
      const take = Math.min(n - have, this.#head.length);
      out.set(this.#head.subarray(0, take), have);
      this.#head = this.#head.subarray(take);
      have += take;
    }
    return out;
  }
}

function parseHeader(bytes: Uint8Array): string[] {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new ConfigValidationError(
      `write-server: a request header is not JSON: ${(cause as Error).message}`,
      {
        field: "input",
        cause,
      },
    );
  }
  const argv = (header as { argv?: unknown } | null)?.argv;
  if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string")) {
    throw new ConfigValidationError('write-server: a request header must be {"argv": ["write-shard", ...]}', {
      field: "input",
    });
  }
  return argv;
}

/** The io one request runs with: its body as stdin, its output captured for the response. */
function requestIo(io: CliIo, body: Uint8Array, out: string[], err: string[]): CliIo {
  return {
    stdout: (text) => void out.push(text),
    stderr: (text) => void err.push(text),
    readStdin: async () => new TextDecoder().decode(body),
    stdinStream: async function* () {
      yield body;
    },
    env: io.env,
    cwd: io.cwd,
    home: io.home,
    stderrIsTTY: false,
  };
}

export async function writeServerCommand(ctx: CliContext, run: RunCli): Promise<number> {
  const reader = new FrameReader(ctx.io.stdinStream());
  for (;;) {
    const headLength = await reader.exactly(4, true);
    if (headLength === null) return ExitCode.ok;
    const argv = parseHeader((await reader.exactly(new DataView(headLength.buffer).getUint32(0, true)))!);
    const bodyLength = new DataView((await reader.exactly(8))!.buffer).getBigUint64(0, true);
    const body = (await reader.exactly(Number(bodyLength)))!;
    const out: string[] = [];
    const err: string[] = [];
    // Only shard writes: the server is a warm `write-shard`, not a general command runner.
    let code: number = ExitCode.usage;
    if (argv.includes("write-shard")) code = await run(argv, requestIo(ctx.io, body, out, err));
    else
      err.push(
        `shardy write-server: a request must be a write-shard command line, got ${JSON.stringify(argv)}\n`,
      );
    ctx.io.stdout(`${JSON.stringify({ code, stdout: out.join(""), stderr: err.join("") })}\n`);
  }
}

export function registerWriteServer(program: Command, io: CliIo, state: ProgramState, run: RunCli): void {
  program
    .command("write-server")
    .description(
      "run many write-shard calls in one process: framed requests on stdin, one JSON response line each on stdout",
    )
    .action(verb(io, state, "write-server", (ctx: CliContext) => writeServerCommand(ctx, run)));
}
