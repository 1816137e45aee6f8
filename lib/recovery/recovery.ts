/**
 * Resumable delivery on one node (DESIGN.md, decision 9): every event delivered here gets a position in
 * this node's replay stream, sent as its last argument (Socket.IO's offset scheme, which the stock client
 * follows with no extra code); a socket that loses its connection leaves a session; a client that comes
 * back within `recovery.window` with that session's id gets its id, rooms, entity subscriptions and
 * `socket.data` back and every event it missed, in order and exactly once, before anything newer.
 *
 * Unlike Socket.IO's own recovery, which restores a session before any middleware runs (and writes the
 * missed packets then):
 * - the reconnecting socket is authenticated again first, and recovers only as the same principal in the
 *   same audience (a changed role, a revoked token or a blocked user gets no replay);
 * - a change of what some audience may read while it was away means no replay, and so does a Redis
 *   outage that lost other nodes' events (breaks in the stream);
 * - a client that received nothing before it dropped resumes from its handshake (the session id says
 *   where), and one whose last event is long gone resumes as long as nothing it missed is;
 * - volatile events get an offset too (they are never replayed), so they cannot shift the client's.
 *
 * @module
 */
import type { BroadcastOptions, Room } from "socket.io-adapter";
import type { Packet } from "../adapter-types.ts";
import type { Logger } from "../logger.ts";
import type { IoSocket, SocketData } from "../types.ts";
import {
  formatOffset,
  isSessionId,
  newEpoch,
  newSessionId,
  parseOffset,
  sessionStart,
} from "./positions.ts";
import type { ResolvedRecovery } from "./recovery-options.ts";
import { type BufferedEvent, type BufferEntry, ReplayBuffer } from "./replay-buffer.ts";
import { type AwaySession, SessionStore } from "./session-store.ts";

/** Socket.IO packet types that carry an event (protocol v5: EVENT, BINARY_EVENT). */
const EVENT = 2;
const BINARY_EVENT = 5;

/** How often expired sessions and events are dropped when no traffic does it. */
const SWEEP_INTERVAL = 10_000;

/** What else the recovery needs to know about the server. */
export interface RecoveryLimits {
  /** Sessions kept at most (the node's connection cap). */
  maxSessions: number;
  /**
   * How long the server may take to notice a dead connection (ping interval + timeout): a client's last
   * event can be that much older than its disconnect, so events are kept `window` + this.
   */
  detectionDelay: number;
  /**
   * Whether this node's stream is complete right now: in a cluster, whether Redis is up (while it is down,
   * other nodes' events are lost, and nobody resumes). @default always
   */
  complete?: () => boolean;
}

/** A recovery decided at the handshake, completed when the socket connects. */
interface PendingResume {
  session: AwaySession;
  since: number;
}

/** `Adapter#encoder` is declared private but is the adapter's documented way to encode once. */
type Encoder = { encode(packet: Packet): Array<string | Uint8Array> };
type WritableSocket = {
  client: { writeToEngine(packets: readonly unknown[], options: object): void };
};

/** One node's replay stream and the sessions of its sockets away. */
export class Recovery {
  readonly #window: number;
  readonly #logger: Logger;
  readonly #epoch = newEpoch();
  #seq = 0;
  readonly #buffer: ReplayBuffer;
  readonly #sessions: SessionStore;
  readonly #pending = new WeakMap<IoSocket, PendingResume>();
  /** Recovered sockets: the stream position they resumed at (see `#persist`). */
  readonly #resumedAt = new WeakMap<IoSocket, number>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #complete: () => boolean;

  constructor(options: ResolvedRecovery, limits: RecoveryLimits, logger: Logger) {
    this.#window = options.window;
    this.#complete = limits.complete ?? (() => true);
    this.#logger = logger;
    this.#buffer = new ReplayBuffer(options.maxEvents, options.window + limits.detectionDelay);
    this.#sessions = new SessionStore(limits.maxSessions);
    this.#sweep = setInterval(() => {
      const now = Date.now();
      this.#buffer.trim(now);
      this.#sessions.expire(now);
    }, Math.min(SWEEP_INTERVAL, options.window));
    (this.#sweep as { unref?: () => void }).unref?.();
  }

  /** Events and access marks kept; sessions away. */
  get size(): { events: number; sessions: number } {
    return { events: this.#buffer.size, sessions: this.#sessions.size };
  }

  /**
   * Delivers `packet` through `deliver` with its offset appended (on a copy: the caller's packet may go on
   * to other nodes), and keeps it for replay unless it is volatile. Nothing is kept when `deliver` throws.
   */
  deliver(
    nsp: string,
    packet: Packet,
    opts: BroadcastOptions,
    deliver: (packet: Packet, opts: BroadcastOptions) => void,
  ): void {
    // Acknowledged broadcasts cannot be answered twice; other packet types carry no event.
    if ((packet.type !== EVENT && packet.type !== BINARY_EVENT) || packet.id !== undefined) {
      deliver(packet, opts);
      return;
    }
    this.#seq += 1;
    const seq = this.#seq;
    const data = [...(packet.data as unknown[]), formatOffset(this.#epoch, seq)];
    deliver({ ...packet, data }, opts);
    if (opts.flags?.volatile) return;
    this.#buffer.append({
      kind: "event",
      seq,
      at: Date.now(),
      nsp,
      type: packet.type,
      data,
      rooms: opts.rooms,
      except: opts.except && opts.except.size > 0 ? opts.except : undefined,
    });
  }

  /** What some audience may read changed: sockets away now replay nothing sent before it. */
  accessChanged(): void {
    this.#break();
  }

  /** Events from other nodes were lost (Redis is back after an outage): nothing before replays. */
  messagesLost(): void {
    this.#break();
  }

  /** Whether a socket away is in `room` (it must still be sent what the room gets). */
  awayIn(room: Room): boolean {
    return this.#sessions.inRoom(room);
  }

  /** Keeps the session of a socket that lost its connection (Socket.IO calls this for recoverable reasons only). */
  persist(socket: IoSocket): void {
    const pid = sessionIdOf(socket);
    if (pid === undefined) return;
    const now = Date.now();
    this.#sessions.save({
      pid,
      sid: socket.id,
      nsp: socket.nsp.name,
      rooms: [...socket.rooms],
      data: socket.data,
      since: Math.max(sessionStart(pid), this.#resumedAt.get(socket) ?? 0),
      expiresAt: now + this.#window,
    }, now);
  }

  /**
   * At the handshake, once the socket is authenticated: takes over the session the client names, when it
   * may (see the module doc), or gives the socket a new session id. Must run in the last middleware: the
   * socket's id changes to the session's.
   */
  resume(socket: IoSocket): void {
    const auth = socket.handshake.auth as { pid?: unknown; offset?: unknown } | undefined;
    if (isSessionId(auth?.pid) && this.#claim(socket, auth.pid, auth.offset)) return;
    setSessionId(socket, newSessionId(this.#seq));
  }

  /**
   * When a resumed socket connects (its CONNECT reply, with the old session id, is written): joins its rooms
   * again and writes what it missed, in the same turn, so nothing newer can come first.
   */
  restore(socket: IoSocket): void {
    const pending = this.#pending.get(socket);
    if (!pending) return;
    this.#pending.delete(socket);
    const entries = this.#replayFrom(pending.since);
    if (!entries) {
      // Changed in the few ticks since the handshake: close; the client comes back and is told `false`.
      this.#logger.debug(`socket ${socket.id} lost its replay while connecting`);
      socket.conn.close();
      return;
    }
    const { session } = pending;
    socket.join(session.rooms.filter((room) => room !== session.sid));
    const rooms = socket.rooms;
    const encoder = (socket.nsp.adapter as unknown as { encoder: Encoder }).encoder;
    const client = (socket as unknown as WritableSocket).client;
    let replayed = 0;
    for (const entry of entries) {
      if (entry.kind !== "event" || entry.nsp !== session.nsp || !reaches(entry, rooms)) continue;
      entry.encoded ??= encoder.encode({ type: entry.type, nsp: entry.nsp, data: entry.data });
      client.writeToEngine(entry.encoded, { preEncoded: true });
      replayed += 1;
    }
    this.#resumedAt.set(socket, this.#seq);
    this.#logger.debug(`socket ${socket.id} recovered with ${replayed} missed event(s)`);
  }

  /** Stops the sweep and forgets every session and event. */
  close(): void {
    clearInterval(this.#sweep);
    this.#buffer.clear();
    this.#sessions.clear();
  }

  #claim(socket: IoSocket, pid: string, offset: unknown): boolean {
    const session = this.#sessions.take(pid, Date.now());
    const refused = (why: string) => {
      this.#logger.debug(`socket ${socket.id} not recovered: ${why}`);
      return false;
    };
    if (!session) return refused("no session (expired, unknown, or already resumed)");
    if (!this.#complete()) return refused("events from other nodes are being lost (Redis is down)");
    if (session.nsp !== socket.nsp.name) return refused("session of another namespace");
    if (!sameIdentity(session.data, socket.data)) return refused("its identity changed");
    const received = parseOffset(offset, this.#epoch);
    if (received !== undefined && received > this.#seq) return refused("offset from the future");
    const since = Math.max(session.since, received ?? 0);
    if (!this.#replayFrom(since)) return refused("missed events evicted, or a break in the stream");
    renameSocket(socket, session.sid);
    setSessionId(socket, session.pid);
    socket.data = {
      ...session.data,
      ...socket.data,
      entitySubscriptions: session.data.entitySubscriptions ?? [],
    };
    (socket as { recovered: boolean }).recovered = true;
    this.#pending.set(socket, { session, since });
    return true;
  }

  #break(): void {
    this.#seq += 1;
    this.#buffer.append({ kind: "break", seq: this.#seq, at: Date.now() });
  }

  /** The entries after `since` when all are kept and none is a break. */
  #replayFrom(since: number): BufferEntry[] | undefined {
    const entries = this.#buffer.after(since);
    return entries?.some((entry) => entry.kind === "break") ? undefined : entries;
  }
}

/** Whether a socket in `rooms` received `event` (the adapter's rule: in one target room, in no `except`). */
function reaches(event: BufferedEvent, rooms: ReadonlySet<Room>): boolean {
  if (event.except) { for (const room of event.except) if (rooms.has(room)) return false; }
  if (event.rooms.size === 0) return true;
  for (const room of event.rooms) if (rooms.has(room)) return true;
  return false;
}

/** Same audience and same principal (both absent for the public role). */
function sameIdentity(before: SocketData, now: SocketData): boolean {
  return before.audience === now.audience &&
    before.principal?.kind === now.principal?.kind &&
    before.principal?.id === now.principal?.id;
}

/** `Socket#pid` (declared private by Socket.IO): the session id sent in the CONNECT reply. */
function sessionIdOf(socket: IoSocket): string | undefined {
  return (socket as unknown as { pid?: string }).pid;
}

function setSessionId(socket: IoSocket, pid: string): void {
  (socket as unknown as { pid?: string }).pid = pid;
}

/**
 * Gives a socket that has not connected yet the id of the session it resumes. Socket.IO keeps such a
 * socket in `_preConnectSockets` by id (it moves it to `sockets` on connect).
 */
function renameSocket(socket: IoSocket, id: string): void {
  const waiting = (socket.nsp as unknown as { _preConnectSockets?: Map<string, IoSocket> })
    ._preConnectSockets;
  waiting?.delete(socket.id);
  (socket as { id: string }).id = id;
  waiting?.set(id, socket);
}
