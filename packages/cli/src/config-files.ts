/**
 * `reader.toml` and `credentials.toml` (reference §12 CLI). Files are looked up as the reference
 * does: the explicit option, then the environment variable, then `./<name>`, then
 * `~/.config/shardy/<name>`. A missing default file is fine; a missing explicit one is an error.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { ConfigValidationError } from "@shardy/errors";
import type { CliIo } from "./io.ts";

export type TomlTable = Record<string, unknown>;

export interface LoadedToml {
  path: string | undefined;
  data: TomlTable;
}

export function findConfigFile(
  io: CliIo,
  explicit: string | undefined,
  envVar: string,
  name: string,
): { path: string; explicit: boolean } | undefined {
  const given = explicit ?? io.env[envVar];
  if (given) return { path: path.resolve(io.cwd, given), explicit: true };
  const candidates = [path.join(io.cwd, name)];
  if (io.home) candidates.push(path.join(io.home, ".config", "shardy", name));
  const found = candidates.find((p) => existsSync(p));
  return found ? { path: found, explicit: false } : undefined;
}

export function loadToml(file: { path: string; explicit: boolean } | undefined, what: string): LoadedToml {
  if (!file) return { path: undefined, data: {} };
  if (!existsSync(file.path)) {
    throw new ConfigValidationError(
      `${what} file ${file.path} does not exist; fix the path or drop the option`,
      {
        field: what,
      },
    );
  }
  try {
    return { path: file.path, data: Bun.TOML.parse(readFileSync(file.path, "utf8")) as TomlTable };
  } catch (err) {
    throw new ConfigValidationError(
      `${what} file ${file.path} is not valid TOML: ${(err as Error).message}`,
      {
        field: what,
        cause: err,
      },
    );
  }
}

/** A warning when a credentials file is readable by group or others (it holds secrets). */
export function permissionWarning(file: string): string | undefined {
  try {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      return `credentials file ${file} is readable by group or others (mode ${mode.toString(8)}); run chmod 600 ${file}`;
    }
  } catch {
    // Unreadable files fail later with a clearer message.
  }
  return undefined;
}

export function table(data: TomlTable, key: string, file: string | undefined): TomlTable {
  const value = data[key];
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigValidationError(`[${key}] in ${file} must be a table`, { field: key });
  }
  return value as TomlTable;
}

export function optString(t: TomlTable, key: string, where: string): string | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") {
    throw new ConfigValidationError(`${where}.${key} must be a string, got ${JSON.stringify(v)}`, {
      field: key,
    });
  }
  return v;
}

export function optNumber(t: TomlTable, key: string, where: string): number | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new ConfigValidationError(
      `${where}.${key} must be a non-negative number, got ${JSON.stringify(v)}`,
      {
        field: key,
      },
    );
  }
  return v;
}

export function optBool(t: TomlTable, key: string, where: string): boolean | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") {
    throw new ConfigValidationError(`${where}.${key} must be true or false, got ${JSON.stringify(v)}`, {
      field: key,
    });
  }
  return v;
}
