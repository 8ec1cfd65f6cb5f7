/**
 * File globs for inputs: `*` and `?` within a path segment, `**` across segments, `[abc]` /
 * `[a-z]` / `[!a]` classes, `{a,b}` alternatives. Matches are sorted, so a build reads its files
 * in a stable order.
 */
import { readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";
import { ConfigValidationError } from "@shardy/errors";

const MAGIC = /[*?[{]/;

export function hasGlobMagic(pattern: string): boolean {
  return MAGIC.test(pattern);
}

/** Regex source for one path segment pattern (no `/`). */
function segmentRegex(segment: string): string {
  let out = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else if (c === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) {
        out += "\\[";
        continue;
      }
      let body = segment.slice(i + 1, end);
      if (body.startsWith("!")) body = `^${body.slice(1)}`;
      out += `[${body.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else if (c === "{") {
      const end = segment.indexOf("}", i);
      if (end < 0) {
        out += "\\{";
        continue;
      }
      const alts = segment
        .slice(i + 1, end)
        .split(",")
        .map((a) => segmentRegex(a));
      out += `(?:${alts.join("|")})`;
      i = end;
    } else out += c.replace(/[.+^$()|\\/]/g, "\\$&");
  }
  return out;
}

/** Expands one pattern relative to `cwd` into sorted absolute file paths (directories skipped). */
export function expandGlob(pattern: string, cwd: string = process.cwd()): string[] {
  const absolute = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  const parts = absolute.split(sep === "\\" ? /[\\/]/ : "/");
  // The static head: segments before the first one with glob characters.
  let first = parts.findIndex((p) => hasGlobMagic(p));
  if (first < 0) first = parts.length;
  const root = parts.slice(0, first).join("/") || "/";
  const rest = parts.slice(first);
  const results: string[] = [];
  walk(root, rest, results);
  return [...new Set(results)].sort();
}

function walk(dir: string, segments: readonly string[], out: string[]): void {
  if (segments.length === 0) {
    if (isFile(dir)) out.push(dir);
    return;
  }
  const [head, ...tail] = segments as [string, ...string[]];
  if (head === "**") {
    walk(dir, tail, out); // zero segments
    for (const entry of listDir(dir)) {
      if (entry.isDirectory() && !entry.name.startsWith(".")) walk(join(dir, entry.name), segments, out);
    }
    return;
  }
  if (!hasGlobMagic(head)) {
    walk(join(dir, head), tail, out);
    return;
  }
  const re = new RegExp(`^${segmentRegex(head)}$`);
  for (const entry of listDir(dir)) {
    if (entry.name.startsWith(".") && !head.startsWith(".")) continue;
    if (!re.test(entry.name)) continue;
    const path = join(dir, entry.name);
    if (tail.length === 0) {
      if (entry.isFile() || isFile(path)) out.push(path);
    } else if (entry.isDirectory()) walk(path, tail, out);
  }
}

function listDir(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Expands every pattern; a plain path must exist, a glob must match at least one file. */
export function expandInputs(patterns: readonly string[], cwd: string = process.cwd()): string[] {
  if (patterns.length === 0) {
    throw new ConfigValidationError("no input files given; pass file paths or globs such as data/*.parquet", {
      field: "inputs",
    });
  }
  const files: string[] = [];
  for (const pattern of patterns) {
    if (!hasGlobMagic(pattern)) {
      const path = resolve(cwd, pattern);
      let ok = false;
      try {
        ok = statSync(path).isFile();
      } catch {
        ok = false;
      }
      if (!ok) {
        throw new ConfigValidationError(
          `input file ${JSON.stringify(pattern)} does not exist or is not a file`,
          {
            field: "inputs",
          },
        );
      }
      files.push(path);
      continue;
    }
    const matched = expandGlob(pattern, cwd);
    if (matched.length === 0) {
      throw new ConfigValidationError(`input glob ${JSON.stringify(pattern)} matches no files`, {
        field: "inputs",
      });
    }
    files.push(...matched);
  }
  return files;
}
