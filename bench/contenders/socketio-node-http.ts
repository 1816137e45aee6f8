/**
 * Plain Socket.IO on node:http, written the way users write it by hand: no permissions, no sanitizing,
 * `io.emit` of the whole document to everyone, rooms for entities and the feed.
 *
 * @module
 */
import { createServer } from "node:http";
import { Server } from "socket.io";
import { type ContenderServer, listenOnLoopback, queryValue } from "../contender.ts";
import { articleFor, CONTENT_EVENT, entityOfEvent, FEED_ROOM, RAW_EVENT } from "../scenario.ts";

export async function start(connections: number): Promise<ContenderServer> {
  const httpServer = createServer();
  const io = new Server(httpServer, { transports: ["websocket"] });
  let setups = 0;
  io.on("connection", (socket) => {
    const query = socket.handshake.query as Record<string, unknown>;
    const rooms = [`entity:${queryValue(query, "ent")}`];
    if (queryValue(query, "feed") === "1") rooms.push(FEED_ROOM);
    void Promise.resolve(socket.join(rooms)).then(() => void (setups += 1));
  });
  const port = await listenOnLoopback(httpServer);
  return {
    port,
    setups: () => setups,
    emit: (seq) => void io.emit(CONTENT_EVENT, { data: articleFor(seq) }),
    emitToEntity: (seq) =>
      void io.to(`entity:${entityOfEvent(seq, connections)}`).emit(CONTENT_EVENT, articleFor(seq)),
    rawAll: (seq) => void io.emit(RAW_EVENT, articleFor(seq)),
    rawRoom: (seq) => void io.to(FEED_ROOM).emit(RAW_EVENT, articleFor(seq)),
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}
