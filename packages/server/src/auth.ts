/**
 * Bearer tokens. Reads need the read token when one is configured (the admin token also works);
 * refresh and rollback always need the admin token, and are disabled when none is configured.
 * Tokens are compared in constant time for a given length.
 */
import { HttpError } from "./errors.ts";

const encoder = new TextEncoder();

export function tokensEqual(given: string, expected: string): boolean {
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when absent. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  if (!m) {
    throw new HttpError(
      401,
      "unauthorized",
      "the Authorization header is not a bearer token; send Authorization: Bearer <token>",
      { "www-authenticate": 'Bearer realm="shardy"' },
    );
  }
  return m[1];
}

export interface AuthConfig {
  readToken?: string;
  adminToken?: string;
}

/** Throws a 401/403 HttpError unless the request may read. */
export function checkRead(auth: AuthConfig, header: string | undefined | null): void {
  if (auth.readToken === undefined) return;
  const token = bearerToken(header);
  if (token === undefined) {
    throw new HttpError(
      401,
      "unauthorized",
      "missing bearer token: this server requires Authorization: Bearer <read token> for reads",
      { "www-authenticate": 'Bearer realm="shardy"' },
    );
  }
  if (tokensEqual(token, auth.readToken)) return;
  if (auth.adminToken !== undefined && tokensEqual(token, auth.adminToken)) return;
  throw new HttpError(403, "forbidden", "the bearer token is not valid for reads on this server");
}

/** Throws a 401/403 HttpError unless the request carries the admin token. */
export function checkAdmin(auth: AuthConfig, header: string | undefined | null): void {
  if (auth.adminToken === undefined) {
    throw new HttpError(
      403,
      "admin_disabled",
      "admin routes (refresh, rollback) are disabled: start the server with SHARDY_SERVER_ADMIN_TOKEN set",
    );
  }
  const token = bearerToken(header);
  if (token === undefined) {
    throw new HttpError(
      401,
      "unauthorized",
      "missing bearer token: refresh and rollback require Authorization: Bearer <admin token>",
      { "www-authenticate": 'Bearer realm="shardy"' },
    );
  }
  if (!tokensEqual(token, auth.adminToken)) {
    throw new HttpError(
      403,
      "forbidden",
      "the bearer token is not the admin token; refresh and rollback need it",
    );
  }
}
