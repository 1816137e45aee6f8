/**
 * Plain Socket.IO on node:http doing by hand the job strapi-io's `emit()` does: each socket joins the room
 * of its audience (role or API token); each content event is sanitized once per permission set and that
 * copy is sent, with ordinary Socket.IO API (`io.to(rooms).emit(...)`), to the rooms of the set's
 * audiences. The same-work baseline for strapi-io on node-http: `socketio-node-http` sends one frame (the
 * whole, unsanitized document) to everyone, which is less work than any per-role delivery can be.
 *
 * What it does per event, and why it is neither more nor less than strapi-io's `emit()` with the bench
 * policy (`bench-policy.ts`):
 * - the same three permission sets, the same eight audiences: one room per audience, joined at
 *   connection, as strapi-io's audience rooms are (names and field lists computed once, as the bench
 *   policy does);
 * - the same per-copy work: `sanitize()` of `bench-policy.ts` (the very function strapi-io's bench policy
 *   calls), once per permission set, wrapped as `{ data }` as strapi-io sends it;
 * - the same fan-out: one `io.to(<the set's audience rooms>).emit()` per copy, three per event. Socket.IO's
 *   stock adapter de-duplicates a broadcast to several rooms with a `Set` of socket ids; strapi-io replaces
 *   that with its own walk (`lib/transports/room-fan-out.ts`). A user writing this by hand gets the stock
 *   adapter, so this contender keeps it;
 * - none of strapi-io's other work: no access checks at connection, no slow-consumer guard, no connection
 *   caps, no metrics, no resumable delivery (strapi-io turns `recovery` on by default and appends an
 *   offset to every event; Socket.IO's own `connectionStateRecovery` is off by default, and this is what
 *   users get). Those are what strapi-io adds; measuring them is the point of the comparison.
 *
 * The other workloads are those of `socketio-node-http` (`emitToEntity()` and `raw()` send one frame to
 * a room or to everyone in strapi-io too).
 *
 * @module
 */
import { createServer } from "node:http";
import { Server } from "socket.io";
import { sanitize } from "../bench-policy.ts";
import { type ContenderServer, listenOnLoopback, queryValue } from "../contender.ts";
import {
  articleFor,
  AUDIENCES,
  CONTENT_EVENT,
  entityOfEvent,
  FEED_ROOM,
  PERMISSION_SETS,
  RAW_EVENT,
} from "../scenario.ts";

/** Audience rooms are named after the audience; entity rooms start with `entity:`, so they never meet. */
const audienceRoomOf = (audience: string) => `audience:${audience}`;

export async function start(connections: number): Promise<ContenderServer> {
  const httpServer = createServer();
  const io = new Server(httpServer, { transports: ["websocket"] });
  const known = new Set(AUDIENCES);
  // Computed once, as strapi-io's bench policy computes its rooms and field lists once.
  const copies = PERMISSION_SETS.map((set) => ({
    rooms: set.audiences.map(audienceRoomOf),
    set,
  }));
  let setups = 0;
  io.on("connection", (socket) => {
    const query = socket.handshake.query as Record<string, unknown>;
    // An unknown audience reads as the public role, as in strapi-io's bench policy.
    const audience = queryValue(query, "aud");
    const rooms = [
      audienceRoomOf(known.has(audience) ? audience : "role:public"),
      `entity:${queryValue(query, "ent")}`,
    ];
    if (queryValue(query, "feed") === "1") rooms.push(FEED_ROOM);
    void Promise.resolve(socket.join(rooms)).then(() => void (setups += 1));
  });
  const port = await listenOnLoopback(httpServer);
  return {
    port,
    setups: () => setups,
    emit: (seq) => {
      const document = articleFor(seq);
      for (const { rooms, set } of copies) {
        io.to(rooms).emit(CONTENT_EVENT, { data: sanitize(document, set) });
      }
    },
    emitToEntity: (seq) =>
      void io.to(`entity:${entityOfEvent(seq, connections)}`).emit(CONTENT_EVENT, articleFor(seq)),
    rawAll: (seq) => void io.emit(RAW_EVENT, articleFor(seq)),
    rawRoom: (seq) => void io.to(FEED_ROOM).emit(RAW_EVENT, articleFor(seq)),
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}
