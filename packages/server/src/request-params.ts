/**
 * Request parameters and bodies other than keys: value encodings, JSON bodies, history limits,
 * rollback targets. Each bad value becomes a 400 naming it and what is accepted.
 */
import { ConfigValidationError } from "@shardy/errors";
import { VALUE_ENCODINGS, type ValueEncoding } from "@shardy/reader";
import type { Context } from "hono";
import { HttpError } from "./errors.ts";

const MAX_HISTORY = 1000;

/** A read that rejected its key (or routing context) is the client's error: 400. */
export function keyError(err: unknown): unknown {
  if (!(err instanceof ConfigValidationError)) return err;
  return new HttpError(400, err.field === "routing_context" ? "bad_routing_context" : "bad_key", err.message);
}

export function valueEncodingOf(raw: string | undefined): ValueEncoding | "raw" {
  if (raw === undefined || raw === "") return "base64";
  if (raw === "raw" || (VALUE_ENCODINGS as readonly string[]).includes(raw))
    return raw as ValueEncoding | "raw";
  throw new HttpError(
    400,
    "bad_request",
    `value_encoding ${JSON.stringify(raw)} is not one of ${VALUE_ENCODINGS.join(", ")} (or raw)`,
  );
}

export async function readJsonBody(c: Context): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new HttpError(400, "bad_json", "the request body is not valid JSON; send a JSON object");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "bad_json", "the request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

export function historyLimit(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 10;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_HISTORY) {
    throw new HttpError(
      400,
      "bad_request",
      `limit must be an integer 1-${MAX_HISTORY}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

export function rollbackTarget(body: Record<string, unknown>) {
  const given = ["ref", "run_id", "offset"].filter((k) => body[k] !== undefined);
  if (given.length !== 1) {
    throw new HttpError(
      400,
      "bad_request",
      `rollback needs exactly one of "ref", "run_id" or "offset" in the JSON body, got ${given.length ? given.join(", ") : "none"}`,
    );
  }
  if (body.ref !== undefined) {
    if (typeof body.ref !== "string" || body.ref === "")
      throw new HttpError(400, "bad_request", "ref must be a manifest URL");
    return { ref: body.ref };
  }
  if (body.run_id !== undefined) {
    if (typeof body.run_id !== "string" || body.run_id === "")
      throw new HttpError(400, "bad_request", "run_id must be a non-empty string");
    return { runId: body.run_id };
  }
  const offset = body.offset;
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    throw new HttpError(
      400,
      "bad_request",
      `offset must be an integer >= 0 (0 = newest), got ${JSON.stringify(offset)}`,
    );
  }
  return { offset };
}
