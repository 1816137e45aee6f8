/**
 * Prometheus metrics on strapi-io's own port, on both transports: exact counter values after known traffic,
 * label cardinality that does not grow with users, and scrapes refused without the bearer token.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type AccessPolicy, HandshakeError } from "../lib/access-policy.ts";
import { resolveOptions } from "../lib/options.ts";
import { startHarness, TRANSPORTS, until } from "./support/harness.ts";

const TOKEN = "scrape-token-0123456789";
const METRICS = { metrics: { enabled: true, token: TOKEN } } as const;

/** Every socket reads everything; `auth.user` names a user; `auth.refuse` is an invalid token. */
const policy: AccessPolicy = {
  identify: async (socket) => {
    const auth = socket.handshake.auth as { user?: string; refuse?: boolean };
    if (auth.refuse) throw new HandshakeError("invalid_token", "Invalid token");
    return {
      role: auth.user ? "authenticated" : "public",
      user: null,
      ...(auth.user ? { principal: { kind: "user" as const, id: auth.user } } : {}),
    };
  },
  deliveries: async (_event, _schema, data) => [{ to: "everyone", payload: { data } }],
  authorizeEntity: async (_identity, _uid, id) => ({ allowed: true, id: String(id) }),
};

async function scrape(url: string, token = TOKEN) {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    text: await response.text(),
  };
}

/** The value of one series (`name{labels}`) in a scrape, or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

for (const transport of TRANSPORTS) {
  describe(`metrics over ${transport}`, () => {
    it("count connections, disconnects, refusals, emits, content events and recoveries exactly", async () => {
      const h = await startHarness(transport, { ...METRICS, namespaces: ["live"] }, { policy });
      try {
        const kept = await h.client();
        const left = await h.client("/", { auth: { user: "u1" } });
        await h.client("/live");
        await h.refusedClient("/", { auth: { refuse: true } });
        left.disconnect();
        await until(() => h.io.server.sockets.sockets.size === 1, "the server saw it leave");
        await h.io.raw({ event: "a", data: 1 });
        await h.io.raw({ event: "b", data: 2 });
        await h.io.emit({
          event: "update",
          schema: "api::article.article",
          data: { documentId: "d" },
        });
        h.io.sendPrivateMessage(kept.id!, "hello", 3);
        // A drop and a recovery.
        const id = kept.id!;
        kept.io.engine.close();
        await until(() => !h.io.server.sockets.sockets.has(id), "the server saw the drop");
        await new Promise<void>((resolve) => {
          kept.once("connect", () => resolve());
          kept.connect();
        });
        assert.equal(kept.recovered, true);

        const { status, type, text } = await scrape(h.url);
        assert.equal(status, 200);
        assert.match(type ?? "", /^text\/plain/);
        const expected: Record<string, number> = {
          [`strapi_io_connections{transport="${transport}",namespace="/",audience="public"}`]: 1,
          [`strapi_io_connections{transport="${transport}",namespace="/",audience="role"}`]: 0,
          [`strapi_io_connections{transport="${transport}",namespace="/live",audience="public"}`]:
            1,
          'strapi_io_connects_total{namespace="/"}': 3,
          'strapi_io_connects_total{namespace="/live"}': 1,
          'strapi_io_disconnects_total{reason="client namespace disconnect"}': 1,
          'strapi_io_disconnects_total{reason="transport close"}': 1,
          'strapi_io_handshake_refusals_total{code="invalid_token"}': 1,
          'strapi_io_emits_total{method="raw"}': 2,
          'strapi_io_emits_total{method="emit"}': 1,
          'strapi_io_emits_total{method="sendPrivateMessage"}': 1,
          // raw() twice, emit() once and a private message, each to the one socket then in `/`.
          'strapi_io_deliveries_total{namespace="/"}': 4,
          'strapi_io_content_events_total{content_type="api::article.article",action="update"}': 1,
          'strapi_io_sanitized_copies_total{content_type="api::article.article"}': 1,
          "strapi_io_sanitize_duration_seconds_count": 1,
          'strapi_io_recoveries_total{outcome="recovered"}': 1,
          "strapi_io_recovery_sessions": 0,
          "strapi_io_backpressure_disconnects_total": 0,
        };
        for (const [series, count] of Object.entries(expected)) {
          assert.equal(value(text, series), count, series);
        }
        assert.ok(value(text, "strapi_io_recovery_buffered_events")! >= 4);
        assert.notEqual(value(text, "strapi_io_nodejs_eventloop_lag_seconds"), undefined);
      } finally {
        await h.cleanup();
      }
    });

    it("keep one connections series per audience kind however many users connect (1,000 here)", async () => {
      const limits = { connections: { maxPerAddress: 2000 } }; // every client comes from loopback
      const h = await startHarness(transport, { ...METRICS, limits }, { policy });
      try {
        await Promise.all(
          Array.from({ length: 1000 }, (_, n) => h.client("/", { auth: { user: `user-${n}` } })),
        );
        const { text } = await scrape(h.url);
        const series = text.split("\n").filter((line) => line.startsWith("strapi_io_"));
        assert.equal(
          value(
            text,
            `strapi_io_connections{transport="${transport}",namespace="/",audience="role"}`,
          ),
          1000,
        );
        assert.ok(!series.some((line) => line.includes("user-")), "no user in any label");
        assert.ok(series.length < 200, `a bounded number of series (${series.length})`);
      } finally {
        await h.cleanup();
      }
    });

    it("count each recipient once, for overlapping rooms and except lists too", async () => {
      const h = await startHarness(transport, METRICS, { policy });
      try {
        const clients = await Promise.all([h.client(), h.client(), h.client()]);
        const [a, b, c] = clients.map((client) => client.id!);
        h.io.joinRoom(a!, "r1");
        h.io.joinRoom(b!, "r1");
        h.io.joinRoom(b!, "r2");
        h.io.joinRoom(c!, "r2");
        h.io.joinRoom(c!, "r3");
        const deliveries = async () =>
          value((await scrape(h.url)).text, 'strapi_io_deliveries_total{namespace="/"}') ?? 0;
        const cases: Array<[() => void, number]> = [
          [() => h.io.server.to(["r1", "r2"]).emit("x"), 3], // b once
          [() => h.io.server.to(["r1", "r2"]).except("r3").emit("x"), 2],
          [() => h.io.server.except("r1").emit("x"), 1],
          [() => h.io.server.to("r2").emit("x"), 2],
          [() => h.io.server.emit("x"), 3],
        ];
        for (const [send, recipients] of cases) {
          const before = await deliveries();
          send();
          assert.equal((await deliveries()) - before, recipients, String(send));
        }
      } finally {
        await h.cleanup();
      }
    });

    it("refuse a scrape without the bearer token, or with another, with 401", async () => {
      const h = await startHarness(transport, METRICS, { policy });
      try {
        const bare = await fetch(`${h.url}/metrics`);
        assert.equal(bare.status, 401);
        assert.match(bare.headers.get("www-authenticate") ?? "", /^Bearer/);
        assert.equal((await scrape(h.url, "not-the-token-at-all")).status, 401);
        assert.equal((await scrape(h.url, `${TOKEN}x`)).status, 401);
        assert.equal((await scrape(h.url)).status, 200);
      } finally {
        await h.cleanup();
      }
    });

    it("are not served unless enabled", async () => {
      const h = await startHarness(transport);
      try {
        assert.equal((await scrape(h.url)).status, 404);
      } finally {
        await h.cleanup();
      }
    });
  });
}

describe("metrics options", () => {
  it("need a token of 16 characters or more when enabled, and never quote it", () => {
    assert.throws(
      () => resolveOptions({ metrics: { enabled: true } }),
      /'metrics\.token' must be set when 'metrics\.enabled' is true/,
    );
    assert.throws(
      () => resolveOptions({ metrics: { enabled: true, token: "short-secret" } }),
      (error: Error) =>
        /'metrics\.token' must be a string of at least 16/.test(error.message) &&
        !error.message.includes("short-secret"),
    );
    assert.throws(
      () => resolveOptions({ metrics: { path: "metrics" } }),
      /'metrics\.path' must be/,
    );
  });
});
