import { describe, expect, test } from "bun:test";
import { isRetryable, S3TransientError } from "@shardy/errors";
import { type FaultRule, FaultyStore, MemoryStore } from "../src/index.ts";
import { storeContract } from "./contract.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

// Without rules the wrapper must be invisible.
storeContract(
  "faulty(memory) without rules",
  () => new FaultyStore(new MemoryStore(`faulty-${crypto.randomUUID()}`)),
);

describe("FaultyStore", () => {
  test("fails the Nth put before applying it", async () => {
    const inner = new MemoryStore(crypto.randomUUID());
    const store = new FaultyStore(inner, { rules: [{ op: "put", nth: 2, action: { type: "fail" } }] });
    await store.put("a", bytes("1"));
    const err = await rejection(store.put("b", bytes("2")));
    expect(err).toBeInstanceOf(S3TransientError);
    expect(isRetryable(err)).toBe(true);
    expect((err as Error).message).toContain("put #2");
    expect(await inner.head("b")).toBeUndefined(); // not applied
    await store.put("c", bytes("3"));
    expect((await inner.list("")).objects.map((o) => o.key)).toEqual(["a", "c"]);
    expect(store.calls.map((c) => [c.op, c.key, c.outcome, c.faults])).toEqual([
      ["put", "a", "ok", []],
      ["put", "b", "error", ["fail"]],
      ["put", "c", "ok", []],
    ]);
  });

  test("loses the response after applying a put", async () => {
    const inner = new MemoryStore(crypto.randomUUID());
    const store = new FaultyStore(inner, {
      rules: [{ op: "put", nth: 1, action: { type: "loseResponse" } }],
    });
    const err = await rejection(store.put("_CURRENT", bytes("v1"), { ifNoneMatch: "*" }));
    expect(err).toBeInstanceOf(S3TransientError);
    expect((err as Error).message).toContain("applied");
    // The write happened: a blind retry of the create-only put now fails, which is what callers must handle.
    expect(new TextDecoder().decode((await inner.get("_CURRENT"))!.body)).toBe("v1");
    expect(await rejection(store.put("_CURRENT", bytes("v1"), { ifNoneMatch: "*" }))).toHaveProperty(
      "name",
      "PreconditionFailedError",
    );
  });

  test("custom errors, key prefixes, op lists and firing limits", async () => {
    const inner = new MemoryStore(crypto.randomUUID());
    await inner.put("shards/a", bytes("a"));
    await inner.put("manifests/m", bytes("m"));
    const store = new FaultyStore(inner, {
      rules: [
        {
          op: ["get", "head"],
          keyPrefix: "shards/",
          times: 2,
          action: { type: "fail", error: (call) => new Error(`boom ${call.op} ${call.key}`) },
        },
      ],
    });
    expect(await rejection(store.get("shards/a"))).toHaveProperty("message", "boom get shards/a");
    expect(await store.get("manifests/m")).toBeDefined(); // other prefix untouched
    expect(await rejection(store.head("shards/a"))).toHaveProperty("message", "boom head shards/a");
    expect(await store.head("shards/a")).toBeDefined(); // fired twice already
    expect(store.callsOf("head").map((c) => c.outcome)).toEqual(["error", "ok"]);
  });

  test("latency is injected and logged, and honours abort signals", async () => {
    const store = new FaultyStore(new MemoryStore(crypto.randomUUID()), {
      rules: [{ op: "*", action: { type: "latency", ms: 1, jitterMs: 2 } }],
    });
    await store.put("k", bytes("v"));
    expect((await store.get("k"))!.body).toEqual(bytes("v"));
    expect(store.calls.map((c) => c.faults)).toEqual([["latency"], ["latency"]]);
    const slow = new FaultyStore(new MemoryStore(crypto.randomUUID()), {
      rules: [{ op: "get", action: { type: "latency", ms: 60_000 } }],
    });
    const controller = new AbortController();
    const pending = slow.get("k", { signal: controller.signal });
    controller.abort();
    expect(await rejection(pending)).toHaveProperty("name", "AbortError");
  });

  test("probabilistic faults are reproducible from the seed", async () => {
    const rules: FaultRule[] = [{ op: "put", probability: 0.3, action: { type: "fail" } }];
    async function schedule(seed: number): Promise<boolean[]> {
      const store = new FaultyStore(new MemoryStore(crypto.randomUUID()), { seed, rules });
      const failed: boolean[] = [];
      for (let i = 0; i < 200; i++) {
        failed.push(
          await store.put(`k${i}`, bytes(String(i))).then(
            () => false,
            () => true,
          ),
        );
      }
      return failed;
    }
    const a = await schedule(1234);
    const b = await schedule(1234);
    const c = await schedule(99);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const rate = a.filter(Boolean).length / a.length;
    expect(rate).toBeGreaterThan(0.15);
    expect(rate).toBeLessThan(0.45);
  });

  test("delegates identity and capabilities; rules can be changed", async () => {
    const inner = new MemoryStore("faulty-identity");
    const store = new FaultyStore(inner);
    expect(store.baseUrl).toBe("memory://faulty-identity");
    expect(store.capabilities).toEqual(inner.capabilities);
    store.addRule({ op: "delete", action: { type: "fail" } });
    expect(await rejection(store.delete("x"))).toBeInstanceOf(S3TransientError);
    store.clearRules();
    await store.delete("x");
    expect(store.callsOf("delete").map((c) => c.outcome)).toEqual(["error", "ok"]);
  });
});
