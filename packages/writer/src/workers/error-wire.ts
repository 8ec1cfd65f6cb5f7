/** Typed errors across `postMessage`: a worker's error arrives in the main thread as the same class. */
import * as errors from "@shardy/errors";

export interface WireError {
  name: string;
  message: string;
  field?: string;
  stack?: string;
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof Error) {
    const wire: WireError = { name: err.name, message: err.message, stack: err.stack };
    const field = (err as { field?: unknown }).field;
    if (typeof field === "string") wire.field = field;
    return wire;
  }
  return { name: "Error", message: String(err) };
}

type PlainCtor = new (message: string, options?: { cause?: unknown; field?: string }) => Error;

// Classes whose constructor takes only (message, options): safe to rebuild from the wire.
const REBUILDABLE: Record<string, PlainCtor> = {
  ShardyError: errors.ShardyError,
  ConfigValidationError: errors.ConfigValidationError,
  ShardAssignmentError: errors.ShardAssignmentError,
  DbAdapterError: errors.DbAdapterError,
  BridgeTimeoutError: errors.BridgeTimeoutError,
  ShardWriteError: errors.ShardWriteError,
  S3TransientError: errors.S3TransientError,
  ObjectStoreError: errors.ObjectStoreError,
  SqliteAdapterError: errors.SqliteAdapterError,
  SidecarUnavailableError: errors.SidecarUnavailableError,
  ManifestParseError: errors.ManifestParseError,
};

export function errorFromWire(wire: WireError, context: string): Error {
  const Ctor = REBUILDABLE[wire.name];
  if (Ctor) {
    const err = new Ctor(wire.message, wire.field === undefined ? {} : { field: wire.field });
    if (wire.stack) err.stack = `${wire.stack}\n    (in ${context})`;
    return err;
  }
  if (wire.name === "AbortError") {
    return new DOMException(wire.message, "AbortError");
  }
  // Unknown (non-shardy) errors: a retry of the same operation may help, as for any unexpected failure.
  return new errors.ShardWriteError(`${context}: ${wire.name}: ${wire.message}`);
}
