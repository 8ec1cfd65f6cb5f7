import { describe, expect, test } from "bun:test";
import { ShardCoverageError } from "@shardy/errors";
import fc from "fast-check";
import { type ShardAttemptResult, selectWinners } from "../src/index.ts";

function attempt(
  dbId: number,
  attemptNo: number,
  opts: { task?: number | null; url?: string | null; rows?: number; all?: string[] } = {},
): ShardAttemptResult {
  const url = opts.url === undefined ? `s3://b/p/shards/run_id=r/db=${dbId}/attempt=${attemptNo}` : opts.url;
  return {
    dbId,
    dbUrl: url,
    attempt: attemptNo,
    rowCount: opts.rows ?? 1,
    dbBytes: 10,
    minKey: null,
    maxKey: null,
    checkpointId: null,
    writerInfo: { attempt: attemptNo, durationMs: 1, stageId: null, taskAttemptId: opts.task ?? null },
    ...(opts.all ? { allAttemptUrls: opts.all } : {}),
  };
}

describe("selectWinners", () => {
  test("attempt 0 beats attempt 1 regardless of task attempt id", () => {
    const { winners } = selectWinners([attempt(0, 1, { task: 1 }), attempt(0, 0, { task: 99 })], 1);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.attempt).toBe(0);
  });

  test("same attempt: smaller task attempt id wins, a missing id counts as 2^63-1", () => {
    const a = attempt(0, 0, { task: 7, url: "s3://b/z" });
    const b = attempt(0, 0, { task: 3, url: "s3://b/y" });
    const c = attempt(0, 0, { task: null, url: "s3://b/a" });
    expect(selectWinners([a, b, c], 1).winners[0]!.dbUrl).toBe("s3://b/y");
    expect(selectWinners([c, a], 1).winners[0]!.dbUrl).toBe("s3://b/z");
  });

  test("full tie on attempt and task: smaller URL by code point wins", () => {
    const high = attempt(0, 0, { url: "s3://b/\u{1F600}" }); // astral: UTF-16 would order it before U+FFFD
    const low = attempt(0, 0, { url: "s3://b/\uFFFD" });
    expect(selectWinners([high, low], 1).winners[0]!.dbUrl).toBe("s3://b/\uFFFD");
  });

  test("empty-shard winners (dbUrl null) are dropped; missing db ids are fine", () => {
    const result = selectWinners([attempt(0, 0, { url: null }), attempt(0, 1), attempt(2, 0)], 4);
    // The null-URL attempt 0 wins db 0 (reference comparator), so db 0 is an empty shard.
    expect(result.winners.map((w) => w.dbId)).toEqual([2]);
    expect(result.numAttempts).toBe(3);
  });

  test("winners sorted by db id; allAttemptUrls gathers every attempt once", () => {
    const result = selectWinners(
      [
        attempt(3, 0),
        attempt(1, 1, { all: ["u/1/0", "u/1/1"], url: "u/1/1" }),
        attempt(1, 0, { url: "u/1/0" }),
        attempt(0, 0, { url: null }),
      ],
      4,
    );
    expect(result.winners.map((w) => [w.dbId, w.attempt])).toEqual([
      [1, 0],
      [3, 0],
    ]);
    expect(result.allAttemptUrls).toEqual(["s3://b/p/shards/run_id=r/db=3/attempt=0", "u/1/0", "u/1/1"]);
    expect("allAttemptUrls" in result.winners[0]!).toBe(false);
  });

  test("db ids outside [0, numDbs) raise ShardCoverageError naming them", () => {
    const err = (() => {
      try {
        selectWinners([attempt(0, 0), attempt(4, 0), attempt(7, 0), attempt(-1, 0)], 4);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ShardCoverageError);
    expect((err as ShardCoverageError).dbIds).toEqual([-1, 4, 7]);
    expect((err as Error).message).toContain("extra=[-1, 4, 7]");
  });

  test("property: the winner does not depend on the order results arrive in", () => {
    const arb = fc.array(
      fc.record({
        dbId: fc.integer({ min: 0, max: 3 }),
        attempt: fc.integer({ min: 0, max: 3 }),
        task: fc.option(fc.integer({ min: 0, max: 5 })),
        url: fc.option(fc.constantFrom("a", "b", "c")),
      }),
      { maxLength: 20 },
    );
    fc.assert(
      fc.property(arb, fc.integer(), (specs, seed) => {
        const attempts = specs.map((s) => attempt(s.dbId, s.attempt, { task: s.task, url: s.url }));
        const shuffled = [...attempts].sort(
          (x, y) => ((attempts.indexOf(x) * 7919 + seed) % 13) - ((attempts.indexOf(y) * 7919 + seed) % 13),
        );
        expect(selectWinners(shuffled, 4).winners).toEqual(selectWinners(attempts, 4).winners);
      }),
    );
  });
});
