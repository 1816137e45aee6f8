/**
 * Caps on connections (`limits.connections`), refused at the handshake with a `connect_error` that says
 * why (`data.code` `too_many_connections`), and one Socket.IO socket per namespace per connection
 * (`namespace_already_connected`): without that, one WebSocket sending 500 CONNECT packets would hold 500
 * sockets, each receiving every broadcast.
 *
 * Counted over Engine.IO connections (a client with sockets in two namespaces is one connection):
 * - per node and per address, from the moment a connection opens. A client past a cap gets its refusal
 *   when its socket connects; a connection past twice the address cap, or past the node cap by more than
 *   the address cap, is closed at once without a reply (a client that opens connections and never connects
 *   a socket would otherwise hold them until Socket.IO's `connectTimeout`);
 * - per user and per API token once the socket is identified (`SocketIdentity.principal`).
 *
 * @module
 */
import { HandshakeError } from "./access-policy.ts";
import type { Logger } from "./logger.ts";
import type { ResolvedIoOptions } from "./options.ts";
import type { IoSocket } from "./types.ts";

/** The parts of an Engine.IO server and connection the limits use. */
interface EngineServer {
  readonly clientsCount: number;
  on(event: "connection", listener: (conn: EngineConnection) => void): void;
  off(event: "connection", listener: (conn: EngineConnection) => void): void;
}
interface EngineConnection {
  readonly remoteAddress: string;
  readonly request: { headers: Record<string, string | string[] | undefined> };
  on(event: "close", listener: (this: EngineConnection) => void): void;
  close(): void;
}

/** The connection caps and the one-socket-per-namespace rule of one `$io`. */
export class ConnectionLimits {
  readonly #options: ResolvedIoOptions["limits"]["connections"];
  readonly #logger: Logger;
  readonly #perAddress = new Map<string, number>();
  /** Per principal (`user:12`, `token:3`): its connections, each with its count of identified sockets. */
  readonly #perPrincipal = new Map<string, Map<object, number>>();
  /**
   * Per connection, the namespaces whose socket is still connecting. Only while it is: once connected,
   * Socket.IO itself closes a connection that sends CONNECT for that namespace again. Nothing is kept per
   * connection in between (a node holds many).
   */
  readonly #connecting = new WeakMap<object, Set<string>>();
  /** One listener for every connection's `close` (Engine.IO calls it with the connection as `this`). */
  readonly #onClose: (this: EngineConnection) => void;
  #engine: EngineServer | undefined;

  constructor(options: ResolvedIoOptions["limits"]["connections"], logger: Logger) {
    this.#options = options;
    this.#logger = logger;
    const perAddress = this.#perAddress;
    const addressOf = (conn: EngineConnection) => this.#clientAddress(conn);
    this.#onClose = function (this: EngineConnection) {
      const address = addressOf(this);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    };
  }

  /** Starts counting the connections of an Engine.IO server. */
  attach(engine: EngineServer): void {
    this.#engine = engine;
    engine.on("connection", this.#onConnection);
  }

  detach(): void {
    this.#engine?.off("connection", this.#onConnection);
  }

  /**
   * Runs first at a socket's handshake, synchronously (so that a burst of CONNECT packets is judged one by
   * one): one socket per namespace per connection, then the node and address caps. Call {@link settled}
   * once the handshake is over, whichever way it went.
   */
  admit(socket: IoSocket): HandshakeError | undefined {
    const conn = socket.conn as unknown as EngineConnection;
    const connecting = this.#connecting.get(conn);
    if (connecting?.has(socket.nsp.name)) {
      return new HandshakeError(
        "namespace_already_connected",
        `This connection already has a socket in namespace '${socket.nsp.name}'`,
      );
    }
    const { maxPerNode, maxPerAddress } = this.#options;
    if ((this.#engine?.clientsCount ?? 0) > maxPerNode) {
      return new HandshakeError(
        "too_many_connections",
        `Too many connections: this server accepts at most ${maxPerNode}`,
      );
    }
    if ((this.#perAddress.get(this.#clientAddress(conn)) ?? 0) > maxPerAddress) {
      return new HandshakeError(
        "too_many_connections",
        `Too many connections from this address: at most ${maxPerAddress}`,
      );
    }
    if (connecting) connecting.add(socket.nsp.name);
    else this.#connecting.set(conn, new Set([socket.nsp.name]));
    return undefined;
  }

  /** The handshake of a socket admitted by {@link admit} is over (connected or refused). */
  settled(socket: IoSocket): void {
    const conn = socket.conn as unknown as object;
    const connecting = this.#connecting.get(conn);
    connecting?.delete(socket.nsp.name);
    if (connecting?.size === 0) this.#connecting.delete(conn);
  }

  /**
   * Runs once the socket is identified: the cap of its user or API token. An admitted socket is counted
   * until it leaves (a log-out on a shared connection frees its slot) or its connection closes.
   */
  admitPrincipal(socket: IoSocket): HandshakeError | undefined {
    const principal = socket.data.principal;
    if (!principal) return undefined;
    const key = `${principal.kind}:${principal.id}`;
    const conn = socket.conn as unknown as object;
    const connections = this.#perPrincipal.get(key) ?? new Map<object, number>();
    const cap = principal.kind === "user" ? this.#options.maxPerUser : this.#options.maxPerToken;
    if (!connections.has(conn) && connections.size >= cap) {
      return new HandshakeError(
        "too_many_connections",
        `Too many connections for this ${
          principal.kind === "user" ? "user" : "API token"
        }: at most ${cap}`,
      );
    }
    if (!connections.has(conn)) socket.conn.once("close", () => this.#forget(key, conn));
    connections.set(conn, (connections.get(conn) ?? 0) + 1);
    this.#perPrincipal.set(key, connections);
    return undefined;
  }

  /** A socket counted by {@link admitPrincipal} left, or its handshake failed after it was counted. */
  releasePrincipal(socket: IoSocket): void {
    const principal = socket.data.principal;
    if (!principal) return;
    const key = `${principal.kind}:${principal.id}`;
    const conn = socket.conn as unknown as object;
    const connections = this.#perPrincipal.get(key);
    const sockets = connections?.get(conn);
    if (!connections || sockets === undefined) return;
    if (sockets > 1) connections.set(conn, sockets - 1);
    else this.#forget(key, conn);
  }

  #forget(key: string, conn: object): void {
    const connections = this.#perPrincipal.get(key);
    if (!connections) return;
    connections.delete(conn);
    if (connections.size === 0) this.#perPrincipal.delete(key);
  }

  readonly #onConnection = (conn: EngineConnection): void => {
    const address = this.#clientAddress(conn);
    const count = (this.#perAddress.get(address) ?? 0) + 1;
    this.#perAddress.set(address, count);
    conn.on("close", this.#onClose);
    const { maxPerNode, maxPerAddress } = this.#options;
    if (
      count > 2 * maxPerAddress || (this.#engine?.clientsCount ?? 0) > maxPerNode + maxPerAddress
    ) {
      this.#logger.debug(
        `closed a connection past the connection caps (${count} from one address)`,
      );
      conn.close();
    }
  };

  /** The client's address, computed from what the connection keeps anyway (nothing stored per connection). */
  #clientAddress(conn: EngineConnection): string {
    if (this.#options.trustProxy) {
      const forwarded = conn.request.headers["x-forwarded-for"];
      const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(",")[0]?.trim();
      if (first) return first;
    }
    return conn.remoteAddress;
  }
}
