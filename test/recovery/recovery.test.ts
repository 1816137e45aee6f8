/**
 * Resumable delivery (`recovery`), on both transports and over long-polling, with the stock
 * socket.io-client: a client that drops and comes back within the window gets exactly what it missed, in
 * order, once, before anything newer, with `recovered === true` on both sides; otherwise `false` and
 * nothing. Every test asserts the exact sequence received, and ends with a marker so that "nothing more"
 * is a fact, not a wait.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import { type AccessPolicy, HandshakeError } from "../../lib/access-policy.ts";
import type { IoOptions } from "../../lib/options.ts";
import { audienceRoom, entityRoom } from "../../lib/room-names.ts";
import type { IoNamespace, IoSocket } from "../../lib/types.ts";
import {
  type Harness,
  MARKER,
  startHarness,
  TRANSPORTS,
  until,
  untilMarker,
} from "../support/harness.ts";

const ARTICLE = "api::article.article";

/**
 * Sockets name their audience and user in `auth`; `editors` and `readers` each get their own copy of a
 * content event, and `auth.refuse` makes the handshake fail (a revoked credential).
 */
const audiencePolicy: AccessPolicy = {
  identify: async (socket) => {
    const auth = socket.handshake.auth as { audience?: string; user?: string; refuse?: boolean };
    if (auth.refuse) throw new HandshakeError("invalid_token", "Invalid token");
    return {
      role: auth.audience ?? "public",
      audience: auth.audience,
      user: null,
      ...(auth.user ? { principal: { kind: "user" as const, id: auth.user } } : {}),
    };
  },
  deliveries: async (_event, _schema, data) => [
    {
      to: { rooms: [audienceRoom("editors")] },
      followers: { room: entityRoom(ARTICLE, "d1") },
      payload: { copy: "editors", data },
    },
    { to: { rooms: [audienceRoom("readers")] }, payload: { copy: "readers", data } },
  ],
  authorizeEntity: async (_identity, _uid, id) => ({ allowed: true, id: String(id) }),
};

type Received = [event: string, ...args: unknown[]];

/** Records every event a client receives, offsets included. */
function record(client: ClientSocket): Received[] {
  const received: Received[] = [];
  client.onAny((event: string, ...args: unknown[]) => void received.push([event, ...args]));
  return received;
}

/** What was received, without the offsets (each checked to be one) and without markers. */
function withoutOffsets(received: Received[]): Array<[string, unknown]> {
  return received.filter(([event]) => event !== MARKER).map(([event, ...args]) => {
    const offset = args.pop();
    assert.match(String(offset), /^[0-9a-z]+\.[0-9a-z]+$/, `${event} ends with its offset`);
    assert.equal(args.length, 1, `${event} carries one argument besides its offset`);
    return [event, args[0]];
  });
}

async function startRecovering(
  transport: (typeof TRANSPORTS)[number],
  options: IoOptions = {},
): Promise<Harness> {
  return await startHarness(transport, { namespaces: ["live"], ...options }, {
    policy: audiencePolicy,
  });
}

/** Closes the client's connection as a network failure would, and waits until the server noticed. */
async function drop(namespace: IoNamespace, client: ClientSocket): Promise<string> {
  const id = client.id!;
  client.io.engine.close();
  await until(() => !namespace.sockets.has(id), "the server saw the connection drop");
  return id;
}

/** Connects a dropped client again (same socket object: same session id and offset) and waits. */
function reconnect(client: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("connect_error", reject);
    client.connect();
  });
}

function serverSocket(namespace: IoNamespace, id: string): IoSocket {
  const socket = namespace.sockets.get(id);
  assert.ok(socket, `socket ${id} is connected`);
  return socket;
}

const POLLING = { transports: ["polling" as const], upgrade: false };

for (const transport of TRANSPORTS) {
  for (const via of ["websocket", "polling"] as const) {
    const clientOptions = via === "polling" ? POLLING : {};
    describe(`recovery over ${transport} (${via} client)`, () => {
      it("replays every missed event on every path, in order and once, and restores id, rooms, entity subscriptions and data", async () => {
        const h = await startRecovering(transport);
        try {
          const main = h.io.server.sockets;
          const editor = await h.client("/", { ...clientOptions, auth: { audience: "editors" } });
          const other = await h.client("/", { auth: { audience: "readers" } });
          const received = record(editor);
          assert.equal(editor.recovered, false, "a first connection is not a recovery");
          const id = editor.id!;
          h.io.joinRoom(id, "team");
          assert.equal((await h.io.subscribeToEntity(id, ARTICLE, "d1")).success, true);
          (serverSocket(main, id).data as Record<string, unknown>).cart = ["book"];
          await h.io.raw({ event: "before", data: 0 });
          await untilMarker(h.io, editor);

          await drop(main, editor);
          // Every path that reaches the editor, and some that must not.
          await h.io.emit({ event: "update", schema: ARTICLE, data: { documentId: "d1" } });
          await h.io.raw({ event: "to-team", rooms: ["team"], data: 1 });
          await h.io.raw({ event: "to-elsewhere", rooms: ["elsewhere"], data: "no" });
          h.io.emitToEntity(ARTICLE, "d1", "entity", 2);
          h.io.emitToEntity(ARTICLE, "d2", "other-entity", "no");
          h.io.emitToNamespace("/", "namespace", 3);
          h.io.emitToNamespace("live", "other-namespace", "no");
          h.io.broadcast(other.id!, "broadcast", 4);
          h.io.sendPrivateMessage(id, "private", 5);
          await h.io.raw({ event: "to-all", data: "last" });
          const before = received.length;

          await reconnect(editor);
          assert.equal(editor.recovered, true, "the client knows it recovered");
          assert.equal(editor.id, id, "same socket id");
          const socket = serverSocket(main, id);
          assert.equal(socket.recovered, true, "the server knows it recovered");
          assert.ok(socket.rooms.has("team"), "rooms come back");
          assert.deepEqual(h.io.getEntitySubscriptions(id).subscriptions, [
            { uid: ARTICLE, id: "d1", room: entityRoom(ARTICLE, "d1") },
          ]);
          assert.deepEqual((socket.data as Record<string, unknown>).cart, ["book"]);
          await h.io.raw({ event: "newer", data: 6 });
          await untilMarker(h.io, editor);

          assert.deepEqual(withoutOffsets(received.slice(before)), [
            ["article:update", { copy: "editors", data: { documentId: "d1" } }],
            ["to-team", 1],
            ["entity", 2],
            ["namespace", 3],
            ["broadcast", 4],
            ["private", 5],
            ["to-all", "last"],
            ["newer", 6],
          ]);
        } finally {
          await h.cleanup();
        }
      });

      it("a client that had received nothing before it dropped gets what it missed (socket.io #5538)", async () => {
        const h = await startRecovering(transport);
        try {
          const client = await h.client("/", { ...clientOptions, auth: { audience: "readers" } });
          const received = record(client);
          await drop(h.io.server.sockets, client);
          await h.io.emit({ event: "create", schema: ARTICLE, data: { documentId: "d9" } });
          await reconnect(client);
          await untilMarker(h.io, client);
          assert.equal(client.recovered, true);
          assert.deepEqual(withoutOffsets(received), [
            ["article:create", { copy: "readers", data: { documentId: "d9" } }],
          ]);
        } finally {
          await h.cleanup();
        }
      });
    });
  }

  describe(`recovery over ${transport}: when it must not replay`, () => {
    it("a client whose last event is older than the buffer still recovers when nothing it missed is gone (socket.io #5282)", async () => {
      // Events are kept `window` + the time to notice a dead connection: 200 ms + 2 × 50 ms here.
      const h = await startRecovering(transport, {
        recovery: { window: 200 },
        socket: { serverOptions: { pingInterval: 50, pingTimeout: 50 } },
      });
      try {
        const client = await h.client("/", { auth: { audience: "readers" } });
        const received = record(client);
        await h.io.raw({ event: "old", data: 1 });
        await until(() => received.length === 1, "the old event arrived");
        await until(() => h.io.stats().recovery?.events === 0, "the old event left the buffer");
        await drop(h.io.server.sockets, client);
        await h.io.raw({ event: "missed", data: 2 });
        await reconnect(client);
        await untilMarker(h.io, client);
        assert.equal(client.recovered, true);
        assert.deepEqual(withoutOffsets(received), [["old", 1], ["missed", 2]]);
      } finally {
        await h.cleanup();
      }
    });

    it("a volatile event gets an offset too, is never replayed, and shifts nothing (socket.io #5539)", async () => {
      const h = await startRecovering(transport);
      try {
        const client = await h.client("/", { auth: { audience: "readers" } });
        const received = record(client);
        // A string last argument: a client that took it for an offset would resume from nowhere.
        h.io.server.volatile.emit("volatile", "looks-like.an-offset");
        await h.io.raw({ event: "kept", data: 1 });
        await until(() => received.length === 2, "both arrived");
        await drop(h.io.server.sockets, client);
        h.io.server.volatile.emit("volatile-while-away", "lost");
        await h.io.raw({ event: "missed", data: 2 });
        await reconnect(client);
        await untilMarker(h.io, client);
        assert.equal(client.recovered, true);
        assert.deepEqual(withoutOffsets(received), [
          ["volatile", "looks-like.an-offset"],
          ["kept", 1],
          ["missed", 2],
        ]);
      } finally {
        await h.cleanup();
      }
    });

    it("after the window: recovered is false, nothing is replayed, and the client gets a new id", async () => {
      const h = await startRecovering(transport, { recovery: { window: 100 } });
      try {
        const client = await h.client("/", { auth: { audience: "readers" } });
        const received = record(client);
        const id = await drop(h.io.server.sockets, client);
        await h.io.raw({ event: "missed", data: 1 });
        await until(() => h.io.stats().recovery?.sessions === 0, "the session expired");
        await reconnect(client);
        await untilMarker(h.io, client);
        assert.equal(client.recovered, false);
        assert.notEqual(client.id, id);
        assert.deepEqual(withoutOffsets(received), []);
      } finally {
        await h.cleanup();
      }
    });

    it("when the buffer no longer holds the oldest event it missed: recovered is false and nothing is replayed", async () => {
      const h = await startRecovering(transport, { recovery: { maxEvents: 3 } });
      try {
        const client = await h.client("/", { auth: { audience: "readers" } });
        const received = record(client);
        await drop(h.io.server.sockets, client);
        for (let n = 1; n <= 4; n += 1) await h.io.raw({ event: "missed", data: n });
        await reconnect(client);
        await untilMarker(h.io, client);
        assert.equal(client.recovered, false);
        assert.deepEqual(withoutOffsets(received), []);
      } finally {
        await h.cleanup();
      }
    });

    it("when what some audience may read changed while it was away: recovered is false, no stale copy", async () => {
      const h = await startRecovering(transport);
      try {
        const client = await h.client("/", { auth: { audience: "readers" } });
        const received = record(client);
        await drop(h.io.server.sockets, client);
        await h.io.emit({ event: "update", schema: ARTICLE, data: { documentId: "d1" } });
        h.io.accessChanged();
        await reconnect(client);
        await untilMarker(h.io, client);
        assert.equal(client.recovered, false);
        assert.deepEqual(withoutOffsets(received), []);
      } finally {
        await h.cleanup();
      }
    });

    it("a client that comes back as another audience or another user recovers nothing", async () => {
      const h = await startRecovering(transport);
      try {
        const asReader = await h.client("/", { auth: { audience: "readers", user: "u1" } });
        const asUser = await h.client("/", { auth: { audience: "readers", user: "u2" } });
        const received = [record(asReader), record(asUser)];
        await drop(h.io.server.sockets, asReader);
        await drop(h.io.server.sockets, asUser);
        await h.io.emit({ event: "update", schema: ARTICLE, data: { documentId: "d1" } });
        asReader.auth = { audience: "editors", user: "u1" };
        asUser.auth = { audience: "readers", user: "u3" };
        await reconnect(asReader);
        await reconnect(asUser);
        await untilMarker(h.io, asReader, asUser);
        assert.deepEqual([asReader.recovered, asUser.recovered], [false, false]);
        assert.deepEqual(received.map(withoutOffsets), [[], []]);
      } finally {
        await h.cleanup();
      }
    });

    it("a client whose credentials were revoked while away is refused, and is sent nothing", async () => {
      const h = await startRecovering(transport);
      try {
        const client = await h.client("/", { auth: { audience: "readers" } });
        const received = record(client);
        await drop(h.io.server.sockets, client);
        await h.io.emit({ event: "update", schema: ARTICLE, data: { documentId: "d1" } });
        client.auth = { audience: "readers", refuse: true };
        await assert.rejects(reconnect(client), /Invalid token/);
        assert.deepEqual(received, []);
      } finally {
        await h.cleanup();
      }
    });

    it("a session resumes once: a second client with the same session id starts afresh", async () => {
      const h = await startRecovering(transport);
      try {
        const first = await h.client("/", { auth: { audience: "readers" } });
        const pid = (first as unknown as { _pid: string })._pid;
        await drop(h.io.server.sockets, first);
        await h.io.raw({ event: "missed", data: 1 });
        await reconnect(first);
        const thief = await h.client("/", { auth: { audience: "readers", pid } });
        const received = record(thief);
        await untilMarker(h.io, thief);
        assert.equal(first.recovered, true);
        assert.equal(thief.recovered, false);
        assert.deepEqual(withoutOffsets(received), []);
      } finally {
        await h.cleanup();
      }
    });

    it("malformed session ids and offsets start a fresh session and harm nobody", async () => {
      const h = await startRecovering(transport);
      try {
        const bad = [
          { pid: "x".repeat(100_000), offset: "y".repeat(100_000) },
          { pid: { toString: 1 }, offset: ["a"] },
          { pid: "AAAAAAAAAAAAAAAA.zzzz.0", offset: "zzzzzzzz.zzzzzzzzzzz" },
          { pid: null, offset: 12 },
        ];
        for (const auth of bad) {
          const client = await h.client("/", { auth: { audience: "readers", ...auth } });
          assert.equal(client.recovered, false);
        }
      } finally {
        await h.cleanup();
      }
    });

    it("each namespace of one connection recovers its own socket", async () => {
      const h = await startRecovering(transport);
      try {
        const main = await h.client("/", { auth: { audience: "readers" } });
        const live = main.io.socket("/live");
        await new Promise<void>((resolve) => live.once("connect", () => resolve()));
        const received = [record(main), record(live)];
        main.io.engine.close();
        await until(
          () => h.io.server.sockets.sockets.size === 0 && h.io.namespaces.live!.sockets.size === 0,
          "both sockets left",
        );
        await h.io.raw({ event: "main", data: 1 });
        h.io.emitToNamespace("live", "live", 2);
        await reconnect(main);
        if (!live.connected) {
          await new Promise<void>((resolve) => live.once("connect", () => resolve()));
        }
        await untilMarker(h.io, main, live);
        assert.deepEqual([main.recovered, live.recovered], [true, true]);
        assert.deepEqual(received.map(withoutOffsets), [[["main", 1]], [["live", 2]]]);
        live.disconnect();
      } finally {
        await h.cleanup();
      }
    });
  });

  describe(`recovery over ${transport}: switched off`, () => {
    it("sends no offsets and never recovers", async () => {
      const h = await startRecovering(transport, { recovery: { enabled: false } });
      try {
        const client = await h.client("/", { auth: { audience: "readers" } });
        const received = record(client);
        await h.io.raw({ event: "plain", data: 1 });
        await until(() => received.length === 1, "the event arrived");
        await drop(h.io.server.sockets, client);
        await h.io.raw({ event: "missed", data: 2 });
        await reconnect(client);
        await untilMarker(h.io, client);
        assert.notEqual(client.recovered, true, "the client was given no session id to resume");
        assert.deepEqual(received.filter(([event]) => event !== MARKER), [["plain", 1]]);
        assert.equal(h.io.stats().recovery, undefined);
      } finally {
        await h.cleanup();
      }
    });
  });
}
