/**
 * Run records (`runs/<ts>_run_id=<run>_<hex>/run.yaml`), byte-compatible with the reference's
 * `yaml.safe_dump(model_dump(mode="json"), sort_keys=True, default_flow_style=False)`: snake_case
 * keys in sorted order, pydantic-style UTC datetimes as quoted strings, `null` for absent values.
 */
import { ManifestParseError } from "@shardy/errors";
import { Document, isMap, isScalar, parseDocument, Scalar, type ScalarTag } from "yaml";
import { formatPydanticDatetime, parseIsoDatetime } from "../publish/formats.ts";
import { pyyamlString } from "./pyyaml-scalar.ts";

export const RUN_RECORD_FORMAT_VERSION = 1;
export const RUN_RECORD_FILENAME = "run.yaml";
export const RUN_RECORD_CONTENT_TYPE = "application/x-yaml";

export type RunStatus = "running" | "succeeded" | "failed";

/** Writer kinds the reference knows; ours report the engine they run under. */
export type WriterType =
  | "python"
  | "spark"
  | "dask"
  | "ray"
  | "vector-python"
  | "vector-spark"
  | "vector-dask"
  | "vector-ray";

export interface RunRecord {
  formatVersion: number;
  runId: string;
  writerType: string;
  status: RunStatus;
  startedAt: Date;
  updatedAt: Date;
  leaseExpiresAt: Date;
  /** The snapshot prefix URL (`s3://bucket/prefix`). */
  s3Prefix: string;
  shardPrefix: string;
  dbPathTemplate: string;
  manifestRef: string | null;
  errorType: string | null;
  errorMessage: string | null;
}

/** The `yaml` package's string tag, replaced by one that quotes and folds exactly like PyYAML. */
const pyyamlStringTag: ScalarTag = {
  tag: "tag:yaml.org,2002:str",
  default: true,
  identify: (value) => typeof value === "string",
  resolve: (source) => source,
  stringify(item, ctx) {
    const column = (ctx.indentAtStart ?? 0) + 1;
    return pyyamlString(String(item.value), column, ctx.indent.length);
  },
};

export function encodeRunRecord(record: RunRecord): string {
  const wire = {
    db_path_template: record.dbPathTemplate,
    error_message: record.errorMessage,
    error_type: record.errorType,
    format_version: record.formatVersion,
    lease_expires_at: formatPydanticDatetime(record.leaseExpiresAt),
    manifest_ref: record.manifestRef,
    run_id: record.runId,
    s3_prefix: record.s3Prefix,
    shard_prefix: record.shardPrefix,
    started_at: formatPydanticDatetime(record.startedAt),
    status: record.status,
    updated_at: formatPydanticDatetime(record.updatedAt),
    writer_type: record.writerType,
  };
  const doc = new Document(wire, {
    version: "1.1",
    sortMapEntries: true,
    customTags: (tags) => [pyyamlStringTag, ...tags],
  });
  return doc.toString({ lineWidth: 0 });
}

/**
 * Run records are read with the failsafe schema (every scalar a string) plus PyYAML's null rule for
 * plain scalars, so a run id like `1e3` or `0123` keeps its exact text whatever a YAML 1.2 reader
 * would make of it.
 */
type RawRecord = Map<string, string | null>;

const PLAIN_NULL = /^(?:~|null|Null|NULL|)$/;

function field(obj: RawRecord, name: string, where: string): string | null {
  if (!obj.has(name)) throw new ManifestParseError(`run record ${where} has no ${name} field`);
  return obj.get(name) ?? null;
}

function text(obj: RawRecord, name: string, where: string): string {
  const value = field(obj, name, where);
  if (value === null) throw new ManifestParseError(`run record ${where}: ${name} must not be null`);
  return value;
}

function optionalText(obj: RawRecord, name: string): string | null {
  return obj.get(name) ?? null;
}

function datetime(obj: RawRecord, name: string, where: string): Date {
  const value = text(obj, name, where);
  try {
    return parseIsoDatetime(value);
  } catch (err) {
    throw new ManifestParseError(`run record ${where}: ${name} is not a datetime: ${JSON.stringify(value)}`, {
      cause: err,
    });
  }
}

function readMapping(source: string, where: string): RawRecord {
  const doc = parseDocument(source, { schema: "failsafe" });
  if (doc.errors.length > 0) {
    throw new ManifestParseError(`run record ${where} is not valid YAML: ${doc.errors[0]?.message}`);
  }
  if (!isMap(doc.contents)) throw new ManifestParseError(`run record ${where} must be a YAML mapping`);
  const out: RawRecord = new Map();
  for (const pair of doc.contents.items) {
    if (!isScalar(pair.key)) continue;
    const value = pair.value;
    if (
      value === null ||
      (isScalar(value) && value.type === Scalar.PLAIN && PLAIN_NULL.test(String(value.value)))
    ) {
      out.set(String(pair.key.value), null);
    } else if (isScalar(value)) {
      out.set(String(pair.key.value), String(value.value));
    } else {
      throw new ManifestParseError(`run record ${where}: ${String(pair.key.value)} must be a scalar`);
    }
  }
  return out;
}

/** Parses `run.yaml` text; `where` names the object in errors. */
export function decodeRunRecord(source: string, where = "run.yaml"): RunRecord {
  const obj = readMapping(source, where);
  const status = text(obj, "status", where);
  if (status !== "running" && status !== "succeeded" && status !== "failed") {
    throw new ManifestParseError(
      `run record ${where}: status must be running, succeeded or failed, got ${JSON.stringify(status)}`,
    );
  }
  const version = text(obj, "format_version", where);
  const formatVersion = Number(version);
  if (formatVersion !== RUN_RECORD_FORMAT_VERSION) {
    throw new ManifestParseError(
      `run record ${where}: unsupported format_version ${JSON.stringify(version)} (expected 1)`,
    );
  }
  return {
    formatVersion,
    runId: text(obj, "run_id", where),
    writerType: text(obj, "writer_type", where),
    status,
    startedAt: datetime(obj, "started_at", where),
    updatedAt: datetime(obj, "updated_at", where),
    leaseExpiresAt: datetime(obj, "lease_expires_at", where),
    s3Prefix: text(obj, "s3_prefix", where),
    shardPrefix: text(obj, "shard_prefix", where),
    dbPathTemplate: text(obj, "db_path_template", where),
    manifestRef: optionalText(obj, "manifest_ref"),
    errorType: optionalText(obj, "error_type"),
    errorMessage: optionalText(obj, "error_message"),
  };
}
