/**
 * The guard in front of every client event: no frame a client sends reaches an uncaught exception, every
 * event sent with an acknowledgement is answered, and the per-socket limits hold. Run once per transport.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AccessPolicy } from "../lib/access-policy.ts";
import { openAccessPolicy } from "../lib/access-policy.ts";
import type { ClientEventRefusal, EntitySubscriptionResult } from "../lib/types.ts";
import {
  type Harness,
  nextEvent,
  recordingLogger,
  request,
  startHarness,
  TRANSPORTS,
} from "./support/harness.ts";
import { rawClient } from "./support/raw-client.ts";

/** Nested `depth` levels deep: `{"id":{"id":…"x"…}}` or `[[[…]]]`, built as text (JSON.stringify would recurse). */
function deepObject(depth: number): string {
  return `${'{"id":'.repeat(depth)}"x"${"}".repeat(depth)}`;
}
function deepArray(depth: number): string {
  return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

/** A small seeded generator, so that a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function randomValue(next: () => number, depth = 0): unknown {
  const kind = Math.floor(next() * (depth > 4 ? 6 : 8));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.floor(next() * 2 ** 53) * (next() < 0.5 ? -1 : 1);
    case 3:
      return next() * 1e308;
    case 4:
      return "x".repeat(Math.floor(next() * 300));
    case 5:
      return [
        "api::article.article",
        "",
        "__proto__",
        "constructor",
        "api::a.a",
        "🙂",
      ][Math.floor(next() * 6)];
    case 6:
      return Array.from({ length: Math.floor(next() * 5) }, () => randomValue(next, depth + 1));
    default: {
      const keys = ["uid", "id", "__proto__", "constructor", "toString", "then", "$gt"];
      return Object.fromEntries(
        keys.filter(() => next() < 0.5).map((key) => [key, randomValue(next, depth + 1)]),
      );
    }
  }
}

const EVENTS = [
  "subscribe-entity",
  "unsubscribe-entity",
  "get-entity-subscriptions",
  "echo",
  "no-such-event",
];

for (const transport of TRANSPORTS) {
  describe(`client events are guarded over ${transport}`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(transport, {
        namespaces: ["live"],
        limits: { events: { rate: 1e6, burst: 1e6 } },
      }, {
        onConnection: (socket, guard) =>
          socket.on(
            "echo",
            guard.handler("echo", (_socket, args) => ({ success: true, count: args.length }), {
              reply: true,
            }),
          ),
      });
    });
    after(() => h.cleanup());

    it("a deeply nested payload in any event is answered with an error, on every namespace, and the server lives on", async () => {
      for (const namespace of ["/", "/live"]) {
        const raw = await rawClient(h.url);
        const prefix = namespace === "/" ? "" : `${namespace},`;
        raw.send(`40${prefix}`);
        await raw.waitFor((frame) => frame.startsWith(`40${prefix}{`));
        let id = 0;
        for (const event of EVENTS) {
          for (
            const deep of [
              deepObject(5000),
              deepArray(5000),
              `{"uid":${deepArray(5000)},"id":1}`,
              `{"uid":"api::article.article","id":${deepObject(5000)}}`,
            ]
          ) {
            id += 1;
            raw.send(`42${prefix}${id}["${event}",${deep}]`);
            const answer = await raw.waitFor((frame) => frame.startsWith(`43${prefix}${id}[`));
            const [result] = JSON.parse(answer.slice(`43${prefix}${id}`.length)) as [
              { success: boolean; error?: string },
            ];
            if (event === "echo") assert.equal(result.success, true);
            else if (event !== "get-entity-subscriptions") {
              assert.equal(result.success, false, `${event} ${deep.slice(0, 30)}`);
              assert.ok(
                (result.error ?? "").length < 200,
                "the error quotes the value only truncated",
              );
            }
          }
        }
        raw.close();
      }
      const alive = await h.client();
      assert.equal((await request<{ success: boolean }>(alive, "echo", 1)).success, true);
    });

    it("random payloads for every client event are each answered, and never crash the server", async () => {
      const socket = await h.client("/live");
      const next = random(20261128);
      for (let round = 0; round < 60; round += 1) {
        for (const event of EVENTS) {
          const args = Array.from({ length: Math.floor(next() * 3) }, () => randomValue(next));
          const answer = await request<{ success: boolean }>(socket, event, ...args);
          assert.equal(
            typeof answer.success,
            "boolean",
            `${event} answered ${JSON.stringify(answer)}`,
          );
        }
      }
    });

    it("an event sent with only an acknowledgement, a reserved name or a non-string name is answered with a code", async () => {
      const socket = await h.client();
      const bare = await socket.timeout(2000).emitWithAck(
        "subscribe-entity",
      ) as EntitySubscriptionResult;
      assert.deepEqual([bare.success, bare.code], [false, "invalid_request"]);
      const answerOf = async (id: number, frame: string) => {
        raw.send(frame);
        return (JSON.parse(
          (await raw.waitFor((sent) => sent.startsWith(`43${id}[`))).slice(`43${id}`.length),
        ) as [ClientEventRefusal])[0];
      };
      const raw = await rawClient(h.url);
      raw.send("40");
      await raw.waitFor((frame) => frame.startsWith("40{"));
      // socket.io-client refuses to send these names; a hostile client sends them anyway.
      const reserved = await answerOf(1, '421["error",{"x":1}]');
      assert.deepEqual([reserved.success, reserved.code], [false, "reserved_event"]);
      const numeric = await answerOf(2, '422[42,"numeric event name"]');
      assert.deepEqual([numeric.success, numeric.code], [false, "invalid_event"]);
      raw.close();
    });
  });

  describe(`limits.events over ${transport}`, () => {
    it("over the token bucket an event is refused with 'rate_limited' and does not run; far over it the socket is disconnected with a reason", async () => {
      let lookups = 0;
      const counting: AccessPolicy = {
        ...openAccessPolicy,
        authorizeEntity: async (
          identity,
          uid,
          id,
        ) => (lookups += 1, openAccessPolicy.authorizeEntity(identity, uid, id)),
      };
      const h = await startHarness(transport, {
        limits: { events: { rate: 1, burst: 5, disconnectAfter: 50 } },
      }, { policy: counting });
      try {
        const socket = await h.client();
        const answers: EntitySubscriptionResult[] = [];
        for (let i = 0; i < 8; i += 1) {
          answers.push(
            await request(socket, "subscribe-entity", { uid: "api::article.article", id: `a${i}` }),
          );
        }
        assert.deepEqual(answers.map((answer) => answer.success), [
          true,
          true,
          true,
          true,
          true,
          false,
          false,
          false,
        ]);
        assert.equal(answers[5]!.code, "rate_limited");
        assert.equal(lookups, 5, "a refused event causes no database lookup");
        assert.equal(h.io.getEntitySubscriptions(socket.id!).subscriptions?.length, 5);

        const notice = nextEvent<{ reason: string }>(socket, "strapi-io:disconnect");
        const gone = new Promise((resolve) => socket.once("disconnect", resolve));
        for (let i = 0; i < 200; i += 1) {
          socket.emit(
            "subscribe-entity",
            { uid: "api::article.article", id: `flood${i}` },
            () => {},
          );
        }
        assert.match((await notice).reason, /Too many events/);
        await gone;
        assert.equal(lookups, 5);

        const other = await h.client();
        assert.equal(
          (await request<EntitySubscriptionResult>(other, "subscribe-entity", {
            uid: "api::article.article",
            id: "b",
          })).success,
          true,
        );
      } finally {
        await h.cleanup();
      }
    });

    it("at most maxPending handlers of one socket run at once; the next is refused with 'too_many_pending'", async () => {
      const release: Array<() => void> = [];
      const h = await startHarness(transport, { limits: { events: { maxPending: 2 } } }, {
        onConnection: (socket, guard) =>
          socket.on(
            "slow",
            guard.handler("slow", () =>
              new Promise((resolve) => release.push(() => resolve({ success: true }))), {
              reply: true,
            }),
          ),
      });
      try {
        const socket = await h.client();
        const first = request<{ success: boolean }>(socket, "slow");
        const second = request<{ success: boolean }>(socket, "slow");
        const third = await request<ClientEventRefusal>(socket, "slow");
        assert.deepEqual([third.success, third.code], [false, "too_many_pending"]);
        for (const resolve of release.splice(0)) resolve();
        assert.deepEqual(await Promise.all([first, second]), [{ success: true }, {
          success: true,
        }]);
        const fourth = request<{ success: boolean }>(socket, "slow");
        await new Promise<void>((resolve) => {
          const poll = () => (release.length > 0 ? resolve() : setImmediate(poll));
          poll();
        });
        release.shift()!();
        assert.deepEqual(await fourth, { success: true });
      } finally {
        await h.cleanup();
      }
    });

    it("a handler that throws or rejects is answered 'handler_failed' with its message, and logged", async () => {
      const logger = recordingLogger();
      const h = await startHarness(transport, {}, {
        logger,
        onConnection: (socket, guard) => {
          socket.on(
            "throws",
            guard.handler("throws", () => {
              throw new RangeError("Maximum call stack size exceeded");
            }, { reply: true }),
          );
          socket.on(
            "rejects",
            guard.handler("rejects", () => Promise.reject(new Error("database down")), {
              reply: true,
            }),
          );
        },
      });
      try {
        const socket = await h.client();
        assert.deepEqual(await request(socket, "throws"), {
          success: false,
          error: "Maximum call stack size exceeded",
          code: "handler_failed",
        });
        assert.deepEqual(await request(socket, "rejects"), {
          success: false,
          error: "database down",
          code: "handler_failed",
        });
        const errors = logger.lines.filter((line) => line.level === "error").map((line) =>
          line.message
        );
        assert.deepEqual(errors, [
          `client event 'throws' failed for socket ${socket.id}: Maximum call stack size exceeded`,
          `client event 'rejects' failed for socket ${socket.id}: database down`,
        ]);
      } finally {
        await h.cleanup();
      }
    });
  });
}
