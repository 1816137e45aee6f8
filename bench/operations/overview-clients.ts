/**
 * A client process of the overview bench (started by bench/operations/overview-server.ts): holds
 * connections `from` … `from + count - 1` over the raw WebSocket wire of bench/ws-wire.ts, each connected
 * to `/` and to every extra namespace (Socket.IO multiplexes them on one WebSocket), answers pings, and
 * tells its parent once every connection has every namespace's CONNECT acknowledged. Then it only idles
 * (pongs) until the parent kills it, so it costs the measured server nothing.
 *
 *   overview-clients.ts <port> <from> <count> <namespaces, comma-separated or "-">
 *
 * @module
 */
import type { Socket } from "node:net";
import { FrameReader, openWebSocket, PONG_FRAME, textFrame } from "../ws-wire.ts";

const [portArg, fromArg, countArg, namespacesArg] = process.argv.slice(2);
const port = Number(portArg);
const from = Number(fromArg);
const count = Number(countArg);
const namespaces = namespacesArg === "-" || namespacesArg === undefined
  ? []
  : namespacesArg.split(",");
if (!Number.isInteger(port) || !Number.isInteger(from) || !Number.isInteger(count)) {
  throw new Error("usage: overview-clients.ts <port> <from> <count> <namespaces|->");
}
/** Connections awaiting their CONNECT replies at a time. */
const CONCURRENCY = 200;
/** `40` to `/`, then `40/<name>,` to each extra namespace: every socket the connection holds. */
const CONNECT_FRAMES = Buffer.concat([
  textFrame("40"),
  ...namespaces.map((name) => textFrame(`40/${name},`)),
]);
const SOCKETS_PER_CONNECTION = 1 + namespaces.length;

const send = (message: unknown) => process.send?.(message);
const sockets: Socket[] = [];
let next = 0;
let inFlight = 0;
let ready = 0;
let failed = 0;
let firstError = "";

function openNext(): void {
  while (next < count && inFlight < CONCURRENCY) {
    open(from + next);
    next += 1;
    inFlight += 1;
  }
  if (ready + failed === count) {
    send({ type: "ready", ready, failed, firstError });
  }
}

function open(index: number): void {
  let acknowledged = 0;
  let settled = false;
  const settle = (error?: string) => {
    if (settled) return;
    settled = true;
    inFlight -= 1;
    if (error === undefined) ready += 1;
    else {
      failed += 1;
      firstError ||= error;
    }
    openNext();
  };
  const reader = new FrameReader(
    (opcode, data, start, end) => {
      if (opcode === 0x8) return settle("the server closed the WebSocket");
      if (opcode !== 0x1) return;
      const type = data[start];
      if (type === 0x34 /* 4: Engine.IO message */) {
        const packet = data[start + 1];
        if (packet === 0x30 /* 0: CONNECT */) {
          acknowledged += 1;
          if (acknowledged === SOCKETS_PER_CONNECTION) settle();
        } else if (packet === 0x34 /* 4: CONNECT_ERROR */) {
          settle(`connect_error ${data.subarray(start, Math.min(end, start + 120)).toString()}`);
        }
      } else if (type === 0x32 /* 2: ping */) {
        socket.write(PONG_FRAME);
      } else if (type === 0x30 /* 0: open */) {
        socket.write(CONNECT_FRAMES);
      }
    },
    (status) => {
      settle(`upgrade refused: ${status}`);
      socket.destroy();
    },
  );
  const socket = openWebSocket(
    port,
    `/socket.io/?EIO=4&transport=websocket&u=${index}`,
    (bytes) => reader.read(bytes),
  );
  socket.on("error", (error) => settle(`socket error: ${error.message}`));
  socket.on("close", () => {
    if (!settled) settle("connection closed");
    else if (ready === count) send({ type: "lost" });
  });
  sockets.push(socket);
}

process.on("disconnect", () => process.exit(0));
openNext();
