/**
 * Per-server uWS fan-out for Socket.IO rooms.
 *
 * Socket.IO's `attachApp()` patches `Adapter.prototype` for the whole process, bound to one uWS App: a
 * second server in the same process (tests, several nodes, a restart) would publish through the wrong App,
 * and closing either one restores the prototype under the other. This mixin does the same job per server
 * instead: each WebSocket client subscribes to one uWS topic per room, and a broadcast to zero or one room
 * is a single native `publish` of the packet encoded once.
 *
 * It also keeps the set of clients still on HTTP long-polling, so that a broadcast only visits those
 * (Socket.IO's glue visits every target socket on every broadcast just to find them).
 *
 * @module
 */
import type { Adapter, BroadcastOptions, Room, SocketId } from "socket.io-adapter";

/** The one uWS App method the adapter needs; structural, so this file does not import uWebSockets.js. */
export interface TopicPublisher {
  publish(topic: string, message: string | Uint8Array | ArrayBuffer, isBinary?: boolean, compress?: boolean): boolean;
}

/** The parts of a uWS WebSocket the adapter touches. */
interface TopicSubscriber {
  subscribe(topic: string): boolean;
  unsubscribe(topic: string): boolean;
}

/** Socket.IO socket internals the adapter needs (stable across 4.x). */
interface EngineBackedSocket {
  conn: { transport: { name: string; socket?: TopicSubscriber }; once(event: "upgrade", listener: () => void): void };
  client: { writeToEngine(packets: unknown[], options: object): void };
}

// An ASCII unit separator cannot appear in a namespace name; same topic format as Socket.IO's own glue.
const SEPARATOR = "\x1f";

type AdapterConstructor = new (...args: any[]) => Adapter;
type Packet = Parameters<Adapter["broadcast"]>[0];
/** `Adapter#encoder` is declared private but is the adapter's documented way to encode once. */
type Encoder = { encode(packet: Packet): Array<string | Uint8Array> };

/** Returns a subclass of `Base` whose single-room broadcasts are native uWS publishes through `app`. */
export function withUwsPublish<T extends AdapterConstructor>(Base: T, app: TopicPublisher): T {
  return class UwsPublishAdapter extends Base {
    /** Sockets of this namespace not (yet) on WebSocket: the only ones a broadcast must write to itself. */
    #pollingIds = new Set<SocketId>();

    override addAll(id: SocketId, rooms: Set<Room>): void {
      const isNew = !this.sids.has(id);
      super.addAll(id, rooms);
      const socket = this.#socket(id);
      if (!socket) return;
      const websocket = webSocketOf(socket);
      if (websocket) {
        subscribe(this.nsp.name, websocket, isNew, rooms);
        return;
      }
      if (!isNew) return;
      this.#pollingIds.add(id);
      socket.conn.once("upgrade", () => {
        this.#pollingIds.delete(id);
        const current = this.sids.get(id);
        const upgraded = webSocketOf(socket);
        if (current && upgraded) subscribe(this.nsp.name, upgraded, true, current);
      });
    }

    override del(id: SocketId, room: Room): void {
      super.del(id, room);
      const socket = this.#socket(id);
      const websocket = socket && webSocketOf(socket);
      // A closed uWS socket throws on access; it has already left every topic.
      if (websocket) tryUnsubscribe(websocket, topicOf(this.nsp.name, room));
    }

    override delAll(id: SocketId): void {
      super.delAll(id);
      this.#pollingIds.delete(id);
    }

    override broadcast(packet: Packet, opts: BroadcastOptions): void {
      if (opts.rooms.size > 1 || (opts.except?.size ?? 0) > 0) {
        super.broadcast(packet, opts);
        return;
      }
      const flags = opts.flags ?? {};
      packet.nsp = this.nsp.name;
      const encoded = (this as unknown as { encoder: Encoder }).encoder.encode(packet);
      const room = opts.rooms.values().next().value;
      const topic = room === undefined ? this.nsp.name : topicOf(this.nsp.name, room);
      for (const frame of encoded) {
        const isBinary = typeof frame !== "string";
        // "4" is the Engine.IO message type; WebSocket clients get one frame per Socket.IO packet part.
        app.publish(topic, isBinary ? frame : `4${frame}`, isBinary, flags.compress);
      }
      if (this.#pollingIds.size === 0) return;
      const packetOptions = { preEncoded: true, volatile: flags.volatile, compress: flags.compress };
      for (const id of this.#pollingIds) {
        if (room !== undefined && !this.rooms.get(room)?.has(id)) continue;
        const socket = this.#socket(id);
        if (socket && !webSocketOf(socket)) socket.client.writeToEngine(encoded, packetOptions);
      }
    }

    #socket(id: SocketId): EngineBackedSocket | undefined {
      const nsp = this.nsp as unknown as { sockets: Map<SocketId, EngineBackedSocket>; _preConnectSockets?: Map<SocketId, EngineBackedSocket> };
      return nsp.sockets.get(id) ?? nsp._preConnectSockets?.get(id);
    }
  };
}

function topicOf(namespace: string, room: Room): string {
  return `${namespace}${SEPARATOR}${String(room)}`;
}

function webSocketOf(socket: EngineBackedSocket): TopicSubscriber | undefined {
  const transport = socket.conn.transport;
  return transport.name === "websocket" ? transport.socket : undefined;
}

function subscribe(namespace: string, websocket: TopicSubscriber, isNew: boolean, rooms: Set<Room>): void {
  if (isNew) websocket.subscribe(namespace);
  for (const room of rooms) websocket.subscribe(topicOf(namespace, room));
}

function tryUnsubscribe(websocket: TopicSubscriber, topic: string): void {
  try {
    websocket.unsubscribe(topic);
  } catch {
    // Socket already closed: uWS removed it from every topic when it closed.
  }
}
