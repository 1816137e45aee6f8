/**
 * node:http broadcasts written around Engine.IO (`lib/transports/direct-frames.ts`): the frame is the one ws
 * would build, every length arrives intact, per-socket order holds against the packets Engine.IO writes
 * itself, volatile broadcasts are dropped (not queued) for a client that is not reading, and the clients that
 * Engine.IO must serve (long-polling, upgrading, per-message deflate) get every broadcast through it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Adapter, type BroadcastOptions } from "socket.io-adapter";
import type { Socket as ClientSocket } from "socket.io-client";
// @types/ws does not declare the Sender that ws exports (Engine.IO uses it the same way).
import * as ws from "ws";
import { textFrame } from "../../lib/transports/direct-frames.ts";
import { collect, type Harness, startHarness, until } from "../support/harness.ts";
import { connectPausable, nextTurn } from "../support/paused-reader.ts";

/** ws's own frame builder, the reference: header and data, unmasked, final, text. */
function wsFrame(text: string): Buffer {
  const frame = (ws as unknown as {
    Sender: { frame(data: Buffer, options: object): Buffer[] };
  }).Sender.frame(Buffer.from(text), {
    fin: true,
    opcode: 1,
    mask: false,
    readOnly: false,
    rsv1: false,
  });
  return Buffer.concat(frame);
}

/** The server side of a client's connection: its Socket.IO socket's Engine.IO connection. */
function serverConnection(h: Harness, id: string) {
  const socket = h.io.server.of("/").sockets.get(id);
  assert.ok(socket, `socket ${id} is connected`);
  return socket.conn as unknown as {
    transport: { name: string; socket: { bufferedAmount: number } };
  };
}

describe("textFrame", () => {
  it("builds the same bytes as ws for every length class (7-bit, 16-bit, 64-bit) and for multi-byte UTF-8", () => {
    const lengths = [0, 1, 124, 125, 126, 127, 65_535, 65_536, 70_000];
    for (const length of lengths) {
      for (const unit of ["x", "é", "😀"]) {
        const text = unit.repeat(Math.ceil(length / Buffer.byteLength(unit)));
        assert.deepEqual(textFrame(text), wsFrame(text), `${Buffer.byteLength(text)} bytes`);
      }
    }
  });
});

describe("broadcasts written around Engine.IO (node-http)", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness("node-http", { limits: { events: { rate: 1e6, burst: 1e6 } } }, {
      // A broadcast, the acknowledgement (a packet Engine.IO writes itself), a broadcast.
      onConnection: (socket) =>
        socket.on("tick", (round: number, ack: (n: number) => void) => {
          h.io.server.to(socket.id).emit("seq", 3 * round);
          ack(3 * round + 1);
          h.io.server.emit("seq", 3 * round + 2);
        }),
    });
  });
  after(() => h.cleanup());

  it("delivers messages of every frame length class and non-ASCII text intact", async () => {
    const client = await h.client();
    const received = collect<string>(client, "text");
    const sent: string[] = [];
    for (const length of [0, 1, 100, 120, 125, 126, 130, 65_520, 65_536, 70_000, 200_000]) {
      for (const unit of ["x", "é", "😀"]) sent.push(unit.repeat(length / unit.length));
    }
    for (const text of sent) await h.io.raw({ event: "text", data: text });
    await until(() => received.length === sent.length, "every message arrived");
    assert.deepEqual(received, sent);
  });

  it("keeps each socket's order between broadcasts and the packets Engine.IO writes itself (acknowledgements), within a turn and across turns", async () => {
    const client = await h.client();
    const bystander = await h.client();
    const order = collect<number>(client, "seq");
    const bystanderSeen = collect<number>(bystander, "seq");
    const rounds = 200;
    // Sent without waiting, so that the server handles many in one turn: after Engine.IO's first write of
    // the turn it holds the next acknowledgements in its buffer, and a broadcast must queue behind them.
    for (let round = 0; round < rounds; round += 1) {
      client.emit("tick", round, (n: number) => void order.push(n));
    }
    await until(() => order.length === 3 * rounds, "every broadcast and acknowledgement arrived");
    assert.deepEqual(order, Array.from({ length: 3 * rounds }, (_, n) => n));
    await until(() => bystanderSeen.length === rounds, "the bystander's arrived");
    assert.deepEqual(bystanderSeen, Array.from({ length: rounds }, (_, n) => 3 * n + 2));
  });

  it("drops volatile broadcasts for a client that is not reading, instead of queueing them, and delivers them to one that is", async () => {
    const reader = await h.client();
    const readerSeen = collect<number>(reader, "volatile");
    const stalled = await connectPausable(h.url);
    stalled.pause();
    const wire = serverConnection(h, stalled.id).transport.socket;
    const filler = "f".repeat(64 * 1024);
    // Fill the kernel's buffers, until the server holds a backlog of its own for the stalled client.
    await until(async () => {
      await h.io.raw({ event: "filler", data: filler });
      await nextTurn();
      return wire.bufferedAmount > 0;
    }, "the stalled client's backlog stays on the server");
    const before = wire.bufferedAmount;
    for (let n = 0; n < 10; n += 1) {
      h.io.server.volatile.emit("volatile", n);
      await nextTurn();
    }
    await until(() => readerSeen.length === 10, "the reader got every volatile broadcast");
    assert.deepEqual(readerSeen, [...Array(10).keys()]);
    assert.equal(wire.bufferedAmount, before, "nothing was queued for the stalled client");
    stalled.ws.terminate();
  });

  it("delivers to a client that upgrades from long-polling while broadcasts stream: in order, none missing, before, during and after the upgrade", async () => {
    let sent = 0;
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        await h.io.raw({ event: "stream", data: sent++ });
        await nextTurn();
      }
    })();
    const client = await h.client("/", { transports: ["polling", "websocket"], upgrade: true });
    const seen = collect<number>(client, "stream");
    await until(
      () => client.io.engine.transport.name === "websocket",
      "the client upgraded to WebSocket",
    );
    const upgradedAt = sent;
    await until(() => sent > upgradedAt + 20, "20 broadcasts after the upgrade");
    streaming = false;
    await stream;
    assert.equal(serverConnection(h, client.id!).transport.name, "websocket");
    await until(() => seen.at(-1) === sent - 1, "the last broadcast arrived");
    // Listening began just after the CONNECT reply: from the first one seen, every one in order.
    const first = seen[0]!;
    assert.ok(first < upgradedAt, "broadcasts arrived over long-polling too");
    assert.deepEqual(seen, Array.from({ length: sent - first }, (_, n) => first + n));
  });
});

describe("broadcasts to clients with per-message deflate (node-http)", () => {
  let h: Harness;
  before(async () => {
    h = await startHarness("node-http", {
      socket: { serverOptions: { perMessageDeflate: { threshold: 0 } } },
    });
  });
  after(() => h.cleanup());

  it("go through Engine.IO, compressed", async () => {
    const client: ClientSocket = await h.client();
    const received = collect<string>(client, "big");
    const tcp = (client.io.engine.transport as unknown as {
      ws: { _socket: { bytesRead: number } };
    }).ws._socket;
    const readBefore = tcp.bytesRead;
    const text = "x".repeat(10_000);
    for (let n = 0; n < 20; n += 1) await h.io.raw({ event: "big", data: text });
    await until(() => received.length === 20, "every message arrived");
    assert.ok(received.every((message) => message === text));
    // 200 KB of text; compressed, a small fraction of it crossed the wire.
    assert.ok(tcp.bytesRead - readBefore < 20_000, `${tcp.bytesRead - readBefore} bytes read`);
  });
});

describe("an adapter the app plugs through init (node-http)", () => {
  /** Event names of the broadcasts the plugged adapter's own `broadcast` ran for. */
  const seen: unknown[] = [];
  class PluggedAdapter extends Adapter {
    override broadcast(packet: { data?: unknown[] }, opts: BroadcastOptions): void {
      seen.push(packet.data?.[0]);
      super.broadcast(packet as never, opts);
    }
  }
  let h: Harness;
  before(async () => {
    h = await startHarness("node-http", {}, {
      init: (io) => void io.server.adapter(PluggedAdapter as never),
    });
  });
  after(() => h.cleanup());

  it("keeps delivering through it: its broadcast runs for every broadcast (a cluster adapter publishes there)", async () => {
    const client = await h.client();
    const received = collect<number>(client, "plugged");
    for (let n = 0; n < 3; n += 1) await h.io.raw({ event: "plugged", data: n });
    await until(() => received.length === 3, "every broadcast arrived");
    assert.deepEqual(received, [0, 1, 2]);
    assert.deepEqual(seen.filter((event) => event === "plugged"), [
      "plugged",
      "plugged",
      "plugged",
    ]);
  });
});
