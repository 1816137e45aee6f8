/**
 * Resumable delivery (DESIGN.md, decision 9): every event delivered on this node gets a position in the
 * node's replay stream, sent as its last argument (Socket.IO's offset scheme, which the stock client
 * follows with no extra code); a socket that loses its connection leaves a session; a client that comes
 * back within `recovery.window` with that session's id gets its id, rooms, entity subscriptions and
 * `socket.data` back and every event it missed, in order and exactly once, before anything newer. In a
 * cluster it may come back to another node (see `handoff.ts`).
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
  carryEntry,
  carrySession,
  covers,
  type Handoff,
  receiveStream,
  type ResumeAnswer,
  type ResumeRequest,
  type Vector,
} from "./handoff.ts";
import {
  formatOffset,
  isSessionId,
  newEpoch,
  newSessionId,
  parseOffset,
  sessionEpoch,
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

/**
 * Requests to other nodes for a session in flight at once; past it a handshake does not ask (and starts a
 * new session), so that forged session ids cannot turn handshakes into cluster-wide traffic.
 */
const MAX_ASKING = 64;

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

/** The other nodes of a cluster, as recovery asks them (see `recovery-peers.ts`). */
export interface RecoveryPeers {
  /** Asks every other node for a session; resolves with the holder's answer, or `undefined` if none has it. */
  ask(request: ResumeRequest): Promise<ResumeAnswer | undefined>;
}

/** An event to replay: this node's own (its encoded form cached there) or one another node carried. */
interface ReplayItem {
  readonly type: number;
  readonly nsp: string;
  readonly data: readonly unknown[];
  encoded?: ReadonlyArray<string | Uint8Array>;
}

/** A recovery decided at the handshake, completed when the socket connects. */
interface PendingResume {
  sid: string;
  nsp: string;
  rooms: readonly Room[];
  data: SocketData;
  /** What the client missed up to `ownFrom`, in order. */
  items: readonly ReplayItem[];
  /** This node's own events after this position are replayed too (those a vector does not cover). */
  ownFrom: number;
  vector?: Vector;
  /** Ends keeping every broadcast for it (a resume from another node). */
  release?: () => void;
}

/** `Adapter#encoder` is declared private but is the adapter's documented way to encode once. */
type Encoder = { encode(packet: Packet): Array<string | Uint8Array> };
type WritableSocket = {
  client: { writeToEngine(packets: readonly unknown[], options: object): void };
};
type OriginFlags = { origin?: unknown };

/** One node's replay stream and the sessions of its sockets away. */
export class Recovery {
  readonly #window: number;
  readonly #retention: number;
  readonly #logger: Logger;
  readonly #epoch = newEpoch();
  #seq = 0;
  readonly #buffer: ReplayBuffer;
  readonly #sessions: SessionStore;
  /** Per origin, the highest broadcast count delivered here. */
  readonly #vector = new Map<string, number>();
  readonly #pending = new WeakMap<IoSocket, PendingResume>();
  /** Recovered sockets: the stream position they resumed at (see `persist`). */
  readonly #resumedAt = new WeakMap<IoSocket, number>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #complete: () => boolean;
  #peers: RecoveryPeers | undefined;
  /** While above 0, every broadcast from other nodes is kept (see `handoff.ts`). */
  #keepingAll = 0;
  #asking = 0;

  constructor(options: ResolvedRecovery, limits: RecoveryLimits, logger: Logger) {
    this.#window = options.window;
    this.#retention = options.window + limits.detectionDelay;
    this.#logger = logger;
    this.#complete = limits.complete ?? (() => true);
    this.#buffer = new ReplayBuffer(options.maxEvents, this.#retention);
    this.#sessions = new SessionStore(limits.maxSessions);
    this.#sweep = setInterval(() => {
      const now = Date.now();
      this.#buffer.trim(now);
      this.#sessions.expire(now);
    }, Math.min(SWEEP_INTERVAL, options.window));
    (this.#sweep as { unref?: () => void }).unref?.();
  }

  /** The name of this node's stream (new with each process). */
  get epoch(): string {
    return this.#epoch;
  }

  /** Events and breaks kept; sessions away (including those other nodes handed over). */
  get size(): { events: number; sessions: number } {
    return { events: this.#buffer.size, sessions: this.#sessions.size };
  }

  /** In a cluster: how to ask the other nodes for a session this node does not hold. */
  connectPeers(peers: RecoveryPeers): void {
    this.#peers = peers;
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
    const origin = originOf(opts.flags as OriginFlags | undefined);
    if (origin) this.#vector.set(origin[0], Math.max(this.#vector.get(origin[0]) ?? 0, origin[1]));
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
      ...(origin ? { origin: origin[0], originSeq: origin[1] } : {}),
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

  /** Whether broadcasts to `room` must be delivered here though no socket here is in it. */
  awayIn(room: Room): boolean {
    return this.#keepingAll > 0 || this.#sessions.inRoom(room);
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
      // A resumed socket's session id may come from another node's stream: its position then means nothing here.
      since: this.#resumedAt.get(socket) ?? sessionStart(pid),
      expiresAt: now + this.#window,
    }, now);
  }

  /**
   * At the handshake, once the socket is authenticated: takes over the session the client names, when it
   * may (see the module doc), here or on the node that holds it, or gives the socket a new session id.
   * Must run in the last middleware: the socket's id changes to the session's.
   */
  async resume(socket: IoSocket): Promise<void> {
    const auth = socket.handshake.auth as { pid?: unknown; offset?: unknown } | undefined;
    const pid = auth?.pid;
    if (isSessionId(pid)) {
      const offset = typeof auth?.offset === "string" ? auth.offset : undefined;
      let pending = this.#claimHere(socket, pid, offset);
      if (pending === undefined) pending = await this.#claimElsewhere(socket, pid, offset);
      if (pending) {
        this.#takeOver(socket, pid, pending);
        return;
      }
    }
    setSessionId(socket, newSessionId(this.#epoch, this.#seq));
  }

  /**
   * When a resumed socket connects (its CONNECT reply, with the old session id, is written): joins its rooms
   * again and writes what it missed, in the same turn, so nothing newer can come first.
   */
  restore(socket: IoSocket): void {
    const pending = this.#pending.get(socket);
    if (!pending) return;
    this.#pending.delete(socket);
    pending.release?.();
    const own = this.#replayable(this.#buffer, pending.ownFrom);
    if (!own) {
      // Changed in the few ticks since the handshake: close; the client comes back and is told `false`.
      this.#logger.debug(`socket ${socket.id} lost its replay while connecting`);
      socket.conn.close();
      return;
    }
    socket.join(pending.rooms.filter((room) => room !== pending.sid));
    const rooms = socket.rooms;
    const items = [
      ...pending.items,
      ...matching(own, pending.nsp, rooms, pending.vector),
    ];
    const encoder = (socket.nsp.adapter as unknown as { encoder: Encoder }).encoder;
    const client = (socket as unknown as WritableSocket).client;
    for (const item of items) {
      item.encoded ??= encoder.encode({ type: item.type, nsp: item.nsp, data: item.data });
      client.writeToEngine(item.encoded, { preEncoded: true });
    }
    this.#resumedAt.set(socket, this.#seq);
    this.#logger.debug(`socket ${socket.id} recovered with ${items.length} missed event(s)`);
  }

  /** Another node asks for a session: hands it over (once) with what its client missed here, if held here. */
  answer({ pid, offset }: ResumeRequest): ResumeAnswer | null {
    const session = this.#sessions.take(pid, Date.now());
    if (!session) return null;
    if (!this.#complete()) return { refused: "events from other nodes were lost (Redis down)" };
    const missed = this.#missed(session, offset);
    if (typeof missed === "string") return { refused: missed };
    return {
      session: carrySession(session),
      events: missed.map(({ type, nsp, data }) => ({ type, nsp, data: [...data] })),
      vector: [...this.#vector],
    };
  }

  /**
   * This node is leaving (graceful shutdown, its sockets already closed): takes out its own sessions and
   * the part of its stream they may need, for the other nodes.
   */
  handOff(): Handoff {
    const sessions = this.#sessions.takeOwn();
    const from = Math.min(...sessions.map((session) => session.since));
    return {
      epoch: this.#epoch,
      evictedThrough: this.#buffer.evictedThrough,
      vector: [...this.#vector],
      sessions: sessions.map(carrySession),
      entries: sessions.length === 0 ? [] : (this.#buffer.after(from) ?? []).map(carryEntry),
    };
  }

  /**
   * Another node announced a hand-off: keep every broadcast until it arrives. Returns what to call with the
   * hand-off (or with nothing, if it never comes).
   */
  expectHandoff(): (handoff?: Handoff) => void {
    const ownFrom = this.#seq;
    const release = this.#keepAll();
    return (handoff) => {
      release();
      if (!handoff) return;
      const stream = receiveStream(handoff, ownFrom, this.#retention);
      const now = Date.now();
      for (const session of handoff.sessions) {
        if (session.expiresAt > now) this.#sessions.save({ ...session, from: stream }, now);
      }
      this.#logger.debug(`took over ${handoff.sessions.length} session(s) of a node that left`);
    };
  }

  /** Stops the sweep and forgets every session and event. */
  close(): void {
    clearInterval(this.#sweep);
    this.#buffer.clear();
    this.#sessions.clear();
  }

  /**
   * A session held here (its own, or handed over), checked against the re-authenticated socket: `undefined`
   * when none is held here, `null` when it is but cannot resume.
   */
  #claimHere(
    socket: IoSocket,
    pid: string,
    offset: string | undefined,
  ): PendingResume | null | undefined {
    const session = this.#sessions.take(pid, Date.now());
    if (!session) return undefined;
    if (!this.#complete()) return this.#refuse(socket, "events from other nodes were lost");
    if (!this.#accepts(socket, session)) return null;
    const missed = this.#missed(session, offset);
    if (typeof missed === "string") return this.#refuse(socket, missed);
    const { sid, nsp, rooms, data } = session;
    return { sid, nsp, rooms, data, items: missed, ownFrom: this.#seq };
  }

  /** Asks the other nodes for the session; keeps every broadcast from them meanwhile (see `handoff.ts`). */
  async #claimElsewhere(
    socket: IoSocket,
    pid: string,
    offset: string | undefined,
  ): Promise<PendingResume | null> {
    // Issued here and not held any more (expired, resumed, evicted): no other node has it.
    if (!this.#peers || sessionEpoch(pid) === this.#epoch || !this.#complete()) return null;
    if (this.#asking >= MAX_ASKING) {
      return this.#refuse(socket, "too many sessions asked for at once");
    }
    const ownFrom = this.#seq;
    const release = this.#keepAll();
    let answer: ResumeAnswer | undefined;
    this.#asking += 1;
    try {
      answer = await this.#peers.ask(offset === undefined ? { pid } : { pid, offset });
    } catch (error) {
      this.#logger.debug(`could not ask the other nodes for a session: ${String(error)}`);
    } finally {
      this.#asking -= 1;
    }
    if (!answer) {
      release();
      // A node leaving may have handed it over in between (its hand-off arrives before its answer).
      return this.#claimHere(socket, pid, offset) ?? null;
    }
    if ("refused" in answer) {
      release();
      return this.#refuse(socket, answer.refused);
    }
    const { session, events, vector } = answer;
    if (!this.#accepts(socket, session)) {
      release();
      return null;
    }
    socket.conn.once("close", release); // the connection may end before it connects
    const { sid, nsp, rooms, data } = session;
    return { sid, nsp, rooms, data, items: events, ownFrom, vector: new Map(vector), release };
  }

  /** Same namespace, same principal in the same audience. */
  #accepts(socket: IoSocket, session: { nsp: string; data: SocketData }): boolean {
    const why = session.nsp !== socket.nsp.name
      ? "session of another namespace"
      : !sameIdentity(session.data, socket.data)
      ? "its identity changed"
      : undefined;
    if (why) this.#refuse(socket, why);
    return why === undefined;
  }

  /** Everything held here that the client of `session` missed after its `offset`, or why it cannot resume. */
  #missed(session: AwaySession, offset: string | undefined): readonly ReplayItem[] | string {
    const stream = session.from;
    const received = parseOffset(offset, stream ? stream.epoch : this.#epoch);
    if (!stream && received !== undefined && received > this.#seq) return "offset from the future";
    const since = Math.max(session.since, received ?? 0);
    const rooms = new Set(session.rooms);
    if (!stream) {
      const own = this.#replayable(this.#buffer, since);
      return own ? matching(own, session.nsp, rooms) : "missed events evicted, or a break";
    }
    const theirs = this.#replayable(stream.buffer, since);
    const ours = this.#replayable(this.#buffer, stream.ownFrom);
    if (!theirs || !ours) return "missed events evicted, or a break";
    return [
      ...matching(theirs, session.nsp, rooms),
      ...matching(ours, session.nsp, rooms, stream.vector),
    ];
  }

  #takeOver(socket: IoSocket, pid: string, pending: PendingResume): void {
    const saved = pending.data;
    renameSocket(socket, pending.sid);
    setSessionId(socket, pid);
    socket.data = {
      ...saved,
      ...socket.data,
      entitySubscriptions: saved.entitySubscriptions ?? [],
    };
    (socket as { recovered: boolean }).recovered = true;
    this.#pending.set(socket, pending);
  }

  #refuse(socket: IoSocket, why: string): null {
    this.#logger.debug(`socket ${socket.id} not recovered: ${why}`);
    return null;
  }

  #keepAll(): () => void {
    this.#keepingAll += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#keepingAll -= 1;
    };
  }

  #break(): void {
    this.#seq += 1;
    this.#buffer.append({ kind: "break", seq: this.#seq, at: Date.now() });
  }

  /** The entries of `buffer` after `since` when all are kept and none is a break. */
  #replayable(buffer: ReplayBuffer, since: number): BufferEntry[] | undefined {
    const entries = buffer.after(since);
    return entries?.some((entry) => entry.kind === "break") ? undefined : entries;
  }
}

/** The events of `entries` that a socket of `nsp` in `rooms` received, less those `vector` covers. */
function matching(
  entries: readonly BufferEntry[],
  nsp: string,
  rooms: ReadonlySet<Room>,
  vector?: Vector,
): BufferedEvent[] {
  return entries.filter((entry): entry is BufferedEvent =>
    entry.kind === "event" && entry.nsp === nsp && reaches(entry, rooms) && !covers(vector, entry)
  );
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

/** The origin the cluster overlay stamped on a broadcast: `[adapter id, count]`. */
function originOf(flags: OriginFlags | undefined): [string, number] | undefined {
  const origin = flags?.origin;
  if (!Array.isArray(origin) || typeof origin[0] !== "string") return undefined;
  return Number.isSafeInteger(origin[1]) ? [origin[0], origin[1] as number] : undefined;
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
