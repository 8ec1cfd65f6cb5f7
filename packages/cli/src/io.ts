/**
 * The CLI's view of its process: streams, environment, working directory. Injected so the same
 * code runs as the `shardy` binary and in-process in tests.
 */

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of standard input as text (read once, on demand). */
  readStdin(): Promise<string>;
  /** Standard input as a byte stream (binary input such as Arrow IPC). */
  stdinStream(): AsyncIterable<Uint8Array>;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Home directory for `~/.config/shardy/...`; undefined when there is none. */
  home: string | undefined;
  /** Whether stderr is a terminal (progress bar vs periodic lines). */
  stderrIsTTY: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    },
    // A plain generator, not the Node stream itself: Arrow's reader treats Node streams specially
    // (and gets nothing from Bun's process.stdin that way).
    stdinStream: async function* () {
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    },
    env: process.env,
    cwd: process.cwd(),
    home: process.env.HOME || undefined,
    stderrIsTTY: Boolean(process.stderr.isTTY),
  };
}
