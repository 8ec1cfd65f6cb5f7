/**
 * Listening is the only runtime-specific part: `Bun.serve` under Bun, `Deno.serve` under Deno.
 * Both take the app's web-standard `fetch` handler.
 */

export type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface Listener {
  /** `http://host:port` with the port actually bound (useful with port 0). */
  url: string;
  runtime: "bun" | "deno";
  close(): Promise<void>;
}

interface BunLike {
  serve(options: {
    hostname: string;
    port: number;
    fetch: FetchHandler;
    development?: boolean;
    error?: (err: Error) => Response;
  }): { port: number; stop(closeActive?: boolean): Promise<void> | void };
}

interface DenoLike {
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { port: number }) => void },
    handler: FetchHandler,
  ): { addr: { port: number }; shutdown(): Promise<void> };
}

function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

const fallback = () =>
  new Response('{"error":"internal server error","code":"internal"}', {
    status: 500,
    headers: { "content-type": "application/json" },
  });

export function listen(fetch: FetchHandler, options: { host: string; port: number }): Listener {
  const g = globalThis as { Bun?: BunLike; Deno?: DenoLike };
  if (g.Bun) {
    const server = g.Bun.serve({
      hostname: options.host,
      port: options.port,
      fetch,
      development: false,
      error: fallback,
    });
    return {
      url: `http://${hostForUrl(options.host)}:${server.port}`,
      runtime: "bun",
      close: async () => {
        await server.stop(true);
      },
    };
  }
  if (g.Deno) {
    const server = g.Deno.serve({ hostname: options.host, port: options.port, onListen: () => {} }, fetch);
    return {
      url: `http://${hostForUrl(options.host)}:${server.addr.port}`,
      runtime: "deno",
      close: () => server.shutdown(),
    };
  }
  throw new Error(
    "shardy-server listens under Bun or Deno; for other hosts mount createServer(...).app.fetch",
  );
}
