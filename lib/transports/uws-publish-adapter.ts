/**
 * Per-server uWS fan-out for Socket.IO rooms.
 *
 * Socket.IO's `attachApp()` patches `Adapter.prototype` for the whole process, bound to one uWS App: a
 * second server in the same process (tests, several nodes, a restart) would publish through the wrong App,
 * and closing either one restores the prototype under the other. This mixin does the same job per server
 * instead: each WebSocket client subscribes to one uWS topic per room, and a broadcast to zero or one room
 * is a single native `publish` of the packet encoded once.
 *
 * A broadcast to several of strapi-io's internal audience rooms (what `emit()` sends to a permission set)
 * is also native: the packet is encoded once and published once per room's topic. That is only correct
 * because audience rooms are disjoint (every socket is in exactly one: `$io` joins it at the handshake, see
 * `audienceRoom()`); a topic per room would otherwise deliver twice to a socket in two of them. The adapter
 * checks the invariant as sockets join and, the moment a socket is in two audience rooms, sends such
 * broadcasts through Socket.IO's per-socket path (which de-duplicates) from then on.
 *
 * It also keeps the set of clients still on HTTP long-polling, so that a broadcast only visits those
 * (Socket.IO's glue visits every target socket on every broadcast just to find them).
 *
 * @module
 */
import type { BroadcastOptions, Room, SocketId } from "socket.io-adapter";
import { type AdapterConstructor, encodeOnce, type Packet } from "../adapter-types.ts";
import { isInternalRoom } from "../room-names.ts";

/** The one uWS App method the adapter needs; structural, so this file does not import uWebSockets.js. */
export interface TopicPublisher {
  publish(
    topic: string,
    message: string | Uint8Array | ArrayBuffer,
    isBinary?: boolean,
    compress?: boolean,
  ): boolean;
}

/** The parts of a uWS WebSocket the adapter touches. */
interface TopicSubscriber {
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
}

/** Socket.IO socket internals the adapter needs (stable across 4.x). */
interface EngineBackedSocket {
  conn: {
    transport: { name: string; socket?: TopicSubscriber };
    once(event: "upgrade", listener: () => void): void;
  };
  client: { writeToEngine(packets: unknown[], options: object): void };
}

// An ASCII unit separator cannot appear in a namespace name; same topic format as Socket.IO's own glue.
const SEPARATOR = "\x1f";

/** Returns a subclass of `Base` whose single-room broadcasts are native uWS publishes through `app`. */
export function withUwsPublish<T extends AdapterConstructor>(Base: T, app: TopicPublisher): T {
  return class UwsPublishAdapter extends Base {
    /** Sockets of this namespace not (yet) on WebSocket: the only ones a broadcast must write to itself. */
    #pollingIds = new Set<SocketId>();
    /** No socket has been in two audience rooms at once: a broadcast to several may publish per topic. */
    #audiencesDisjoint = true;
    /** Topic names of audience rooms (few, long-lived, published to on every `emit()`), built once. */
    readonly #audienceTopics = new Map<Room, string>();

    override addAll(id: SocketId, rooms: Set<Room>): void {
      const isNew = !this.sids.has(id);
      if (this.#audiencesDisjoint && joinsSecondAudience(this.sids.get(id), rooms)) {
        this.#audiencesDisjoint = false;
      }
      super.addAll(id, rooms);
      const socket = this.#socket(id);
      if (!socket) return;
      const websocket = webSocketOf(socket);
      if (websocket) {
        subscribe(this.nsp.name, websocket, isNew, rooms, id);
        return;
      }
      if (!isNew) return;
      this.#pollingIds.add(id);
      socket.conn.once("upgrade", () => {
        this.#pollingIds.delete(id);
        const current = this.sids.get(id);
        const upgraded = webSocketOf(socket);
        if (current && upgraded) subscribe(this.nsp.name, upgraded, true, current, id);
      });
    }

    override del(id: SocketId, room: Room): void {
      super.del(id, room);
      const socket = this.#socket(id);
      const websocket = socket && webSocketOf(socket);
      // A closed uWS socket throws on access; it has already left every topic.
      if (websocket) tryUnsubscribe(websocket, topicOf(this.nsp.name, room));
    }

    /**
     * The socket leaves the namespace (it disconnected, was disconnected, or its handshake failed). Its
     * WebSocket may stay open for other namespaces — socket.io-client's "log out" disconnects one socket
     * of a shared Manager and connects again — so it must leave exactly this socket's topics here, or it
     * would go on receiving what its old audience and rooms receive.
     */
    override delAll(id: SocketId): void {
      const rooms = this.sids.get(id);
      const socket = this.#socket(id);
      const websocket = socket && webSocketOf(socket);
      super.delAll(id);
      this.#pollingIds.delete(id);
      // Not in any room: it never subscribed (a refused CONNECT), and the topics belong to another socket.
      if (!websocket || !rooms) return;
      tryUnsubscribe(websocket, this.nsp.name);
      for (const room of rooms) {
        if (room !== id) tryUnsubscribe(websocket, topicOf(this.nsp.name, room));
      }
    }

    override broadcast(packet: Packet, opts: BroadcastOptions): void {
      const rooms = opts.rooms;
      if (
        (opts.except?.size ?? 0) > 0 || (rooms.size > 1 && !this.#disjointAudiences(rooms)) ||
        (rooms.size === 1 && this.#isSocketIdRoom(rooms))
      ) {
        super.broadcast(packet, opts);
        return;
      }
      const flags = opts.flags ?? {};
      packet.nsp = this.nsp.name;
      const encoded = encodeOnce(this, packet);
      // Several topics: frames become bytes once, so uWS does not convert a string on every publish.
      const frames = wireFrames(encoded, rooms.size > 1);
      if (rooms.size === 0) publishFrames(app, this.nsp.name, frames, flags.compress);
      else if (rooms.size === 1) {
        publishFrames(
          app,
          topicOf(this.nsp.name, rooms.values().next().value as Room),
          frames,
          flags.compress,
        );
      } else {
        for (const room of rooms) {
          // A room with no member here has no subscriber on its topic either: nothing to publish.
          if (this.rooms.has(room)) {
            publishFrames(app, this.#audienceTopic(room), frames, flags.compress);
          }
        }
      }
      if (this.#pollingIds.size === 0) return;
      const packetOptions = {
        preEncoded: true,
        volatile: flags.volatile,
        compress: flags.compress,
      };
      for (const id of this.#pollingIds) {
        if (rooms.size > 0 && !this.#inAny(id, rooms)) continue;
        const socket = this.#socket(id);
        if (socket && !webSocketOf(socket)) socket.client.writeToEngine(encoded, packetOptions);
      }
    }

    /** Whether `rooms` are all audience rooms and those are still disjoint (see the module doc). */
    #disjointAudiences(rooms: Set<Room>): boolean {
      if (!this.#audiencesDisjoint) return false;
      for (const room of rooms) if (typeof room !== "string" || !isInternalRoom(room)) return false;
      return true;
    }

    /** A broadcast to a socket id room (a private message): no topic for it (see `subscribe()`). */
    #isSocketIdRoom(rooms: Set<Room>): boolean {
      return this.sids.has(rooms.values().next().value as Room);
    }

    #audienceTopic(room: Room): string {
      let topic = this.#audienceTopics.get(room);
      if (topic === undefined) {
        topic = topicOf(this.nsp.name, room);
        this.#audienceTopics.set(room, topic);
      }
      return topic;
    }

    #inAny(id: SocketId, rooms: Set<Room>): boolean {
      for (const room of rooms) if (this.rooms.get(room)?.has(id)) return true;
      return false;
    }

    #socket(id: SocketId): EngineBackedSocket | undefined {
      const nsp = this.nsp as unknown as {
        sockets: Map<SocketId, EngineBackedSocket>;
        _preConnectSockets?: Map<SocketId, EngineBackedSocket>;
      };
      return nsp.sockets.get(id) ?? nsp._preConnectSockets?.get(id);
    }
  };
}

/** A WebSocket frame to publish: its data and whether it is a binary frame. */
type WireFrame = [data: string | Uint8Array, binary: boolean];

/**
 * The WebSocket frames of an encoded packet: one per part, string parts prefixed with the Engine.IO
 * message type "4" (and turned into UTF-8 bytes when `asBytes`), binary parts (attachments) as they are.
 */
function wireFrames(encoded: ReadonlyArray<string | Uint8Array>, asBytes: boolean): WireFrame[] {
  return encoded.map((
    part,
  ): WireFrame => (typeof part === "string"
    ? [asBytes ? Buffer.from(`4${part}`) : `4${part}`, false]
    : [part, true])
  );
}

function publishFrames(
  app: TopicPublisher,
  topic: string,
  frames: readonly WireFrame[],
  compress: boolean | undefined,
): void {
  for (const [data, binary] of frames) app.publish(topic, data, binary, compress);
}

/** Whether joining `adding` puts a socket (currently in `current`) in a second audience room. */
function joinsSecondAudience(current: Set<Room> | undefined, adding: Set<Room>): boolean {
  let audiences = 0;
  for (const room of adding) {
    if (typeof room === "string" && isInternalRoom(room) && !current?.has(room)) audiences += 1;
  }
  if (audiences === 0) return false;
  if (current) {
    for (const room of current) {
      if (typeof room === "string" && isInternalRoom(room)) audiences += 1;
    }
  }
  return audiences > 1;
}

function topicOf(namespace: string, room: Room): string {
  return `${namespace}${SEPARATOR}${String(room)}`;
}

function webSocketOf(socket: EngineBackedSocket): TopicSubscriber | undefined {
  const transport = socket.conn.transport;
  return transport.name === "websocket" ? transport.socket : undefined;
}

/**
 * Subscribes a WebSocket to the namespace topic (when new) and to a topic per room, except its own id
 * room: a topic per socket would cost a uWS topic per connection for rooms of one, which `broadcast()`
 * serves through Socket.IO's per-socket path instead.
 */
function subscribe(
  namespace: string,
  websocket: TopicSubscriber,
  isNew: boolean,
  rooms: Set<Room>,
  id: SocketId,
): void {
  if (isNew) websocket.subscribe(namespace);
  for (const room of rooms) if (room !== id) websocket.subscribe(topicOf(namespace, room));
}

function tryUnsubscribe(websocket: TopicSubscriber, topic: string): void {
  try {
    websocket.unsubscribe(topic);
  } catch {
    // Socket already closed: uWS removed it from every topic when it closed.
  }
}
