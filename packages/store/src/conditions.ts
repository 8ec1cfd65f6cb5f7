/** Conditional-put checks and not-found errors shared by the drivers that evaluate conditions themselves. */
import { ObjectStoreError, PreconditionFailedError } from "@shardy/errors";
import type { PutOptions } from "./types.ts";

/** Throws `PreconditionFailedError` unless `options`' conditions hold for `current`. */
export function checkConditions(
  key: string,
  current: { etag: string } | undefined,
  options: PutOptions | undefined,
): void {
  if (options?.ifNoneMatch === "*" && current) {
    throw new PreconditionFailedError(
      `put ${JSON.stringify(key)} with ifNoneMatch "*" failed: the object already exists (etag ${current.etag})`,
      { key },
    );
  }
  if (options?.ifMatch !== undefined && current?.etag !== options.ifMatch) {
    throw new PreconditionFailedError(
      `put ${JSON.stringify(key)} with ifMatch ${options.ifMatch} failed: ` +
        (current ? `the current etag is ${current.etag}` : "the object does not exist"),
      { key },
    );
  }
}

export function notFound(baseUrl: string, key: string): ObjectStoreError {
  return new ObjectStoreError(`object ${JSON.stringify(key)} not found in ${baseUrl}`);
}
