/**
 * node-http-specific behaviour: sharing a server with an application (as Strapi's is shared).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import WebSocket, { WebSocketServer } from "ws";
import { createSocketIO } from "../../lib/create-socket-io.ts";
import type { StrapiIO } from "../../lib/io.ts";
import { nextEvent, recordingLogger } from "../support/harness.ts";
import { io as connect } from "socket.io-client";

describe("node-http transport on a shared server", () => {
  let server: Server;
  let other: WebSocketServer;
  let io: StrapiIO;
  let port: number;

  before(async () => {
    server = createServer((_req, res) => res.end("app"));
    other = new WebSocketServer({ noServer: true });
    server.on("upgrade", (req, socket, head) => {
      if (req.url === "/other") {
        other.handleUpgrade(req, socket, head, (ws) => ws.send("other says hi"));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    io = await createSocketIO({ transport: { type: "node-http" } }, {
      httpServer: server,
      logger: recordingLogger(),
    });
  });
  after(async () => {
    await io.close();
    other.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("serves Socket.IO and the application's own requests on one port", async () => {
    assert.equal(io.port, port);
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/hello`)).text(), "app");
    const client = connect(`http://127.0.0.1:${port}`, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
    });
    await nextEvent(client, "connect");
    const got = nextEvent(client, "ping-app");
    await io.raw({ event: "ping-app", data: 1 });
    assert.equal(await got, 1);
    client.disconnect();
  });

  it("leaves upgrade requests for other paths untouched (they stay open past engine.io's 1 s destroy timer)", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/other`);
    const message = await new Promise<string>((resolve, reject) => {
      ws.once("message", (data) => resolve(data.toString()));
      ws.once("error", reject);
    });
    assert.equal(message, "other says hi");
    await new Promise((resolve) => setTimeout(resolve, 1300));
    assert.equal(ws.readyState, WebSocket.OPEN);
    ws.close();
  });

  it("close() detaches from the shared server and leaves it serving the application", async () => {
    const second = await createSocketIO({ transport: { type: "node-http" } }, {
      httpServer: server,
      logger: recordingLogger(),
    });
    await second.close();
    const response = await fetch(`http://127.0.0.1:${port}/after`);
    assert.equal(await response.text(), "app");
    assert.equal(server.listening, true);
  });
});
