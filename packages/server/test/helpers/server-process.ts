/**
 * Starts `shardy-server` as a child process (node:child_process, so Bun and Deno entries share it),
 * waits for its `{"event":"listening"}` line, and keeps its stderr for log assertions.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface ServerProcess {
  url: string;
  /** Everything the server wrote to stderr so far (its JSON log). */
  stderr(): string;
  stdout(): string;
  stop(): Promise<void>;
}

export async function startServerProcess(
  command: string[],
  options: { cwd: string; env: Record<string, string | undefined>; timeoutMs?: number },
): Promise<ServerProcess> {
  const [bin, ...args] = command;
  const child: ChildProcess = spawn(bin!, args, {
    cwd: options.cwd,
    env: options.env as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    err += chunk;
  });
  child.stdout!.setEncoding("utf8");
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new Error(
          `server did not print its listening line within ${options.timeoutMs ?? 60000} ms; stderr:\n${err}`,
        ),
      );
    }, options.timeoutMs ?? 60000);
    child.stdout!.on("data", (chunk: string) => {
      out += chunk;
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        try {
          const msg = JSON.parse(line) as { event?: string; url?: string };
          if (msg.event === "listening" && msg.url) {
            clearTimeout(timer);
            resolve(msg.url);
          }
        } catch {
          // a partial line; wait for more
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with code ${code} before listening; stderr:\n${err}`));
    });
  });
  return {
    url,
    stderr: () => err,
    stdout: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
