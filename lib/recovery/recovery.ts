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
import type { RecoveryOutcome } from "../metrics/metrics.ts";
import type { IoSocket, SocketData } from "../types.ts";
import {
  carryEntry,
  carrySession,
  type Handoff,
  originOf,
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
import { type BufferEntry, ReplayBuffer } from "./replay-buffer.ts";
import { matching, type ReplayItem, sameIdentity, writeReplay } from "./replay.ts";
import { renameSocket, sessionIdOf, setSessionId } from "./socket-session.ts";
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
  /** Told how each request to resume ended (for metrics). */
  outcome?: (outcome: RecoveryOutcome) => void;
}

/** Why a request to resume did not. */
type Refusal = Exclude<RecoveryOutcome, "recovered">;
const REFUSALS = new Set<string>(
  [
    "no_session",
    "identity_changed",
    "missed_events_gone",
    "redis_down",
    "busy",
  ] satisfies Refusal[],
);

/** The other nodes of a cluster, as recovery asks them (see `recovery-peers.ts`). */
export interface RecoveryPeers {
  /** Asks every other node for a session; resolves with the holder's answer, or `undefined` if none has it. */
  ask(request: ResumeRequest): Promise<ResumeAnswer | undefined>;
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
  readonly #outcome: (outcome: RecoveryOutcome) => void;
  #peers: RecoveryPeers | undefined;
  /** While above 0, every broadcast from other nodes is kept (see `handoff.ts`). */
  #keepingAll = 0;
  #asking = 0;

  constructor(options: ResolvedRecovery, limits: RecoveryLimits, logger: Logger) {
    this.#window = options.window;
    this.#retention = options.window + limits.detectionDelay;
    this.#logger = logger;
    this.#complete = limits.complete ?? (() => true);
    this.#outcome = limits.outcome ?? (() => {});
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
    const origin = originOf(opts.flags);
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

  /**
   * The sockets away from this node in `room` (their session's id and `socket.data`): a delivery that
   * picks its receivers one by one must include them, or they would have nothing to replay.
   */
  awayMembers(room: Room): Array<{ sid: string; data: SocketData }> {
    return [...this.#sessions.membersOf(room)].map(({ sid, data }) => ({ sid, data }));
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
      const claim = this.#claimHere(socket, pid, offset) ??
        await this.#claimElsewhere(socket, pid, offset);
      if (typeof claim === "object") {
        this.#takeOver(socket, pid, claim);
        this.#outcome("recovered");
        return;
      }
      this.#outcome(claim);
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
    writeReplay(socket, items);
    this.#resumedAt.set(socket, this.#seq);
    this.#logger.debug(`socket ${socket.id} recovered with ${items.length} missed event(s)`);
  }

  /** Another node asks for a session: hands it over (once) with what its client missed here, if held here. */
  answer({ pid, offset }: ResumeRequest): ResumeAnswer | null {
    const session = this.#sessions.take(pid, Date.now());
    if (!session) return null;
    if (!this.#complete()) return { refused: "redis_down" };
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
   * when none is held here, else the resume or why not.
   */
  #claimHere(
    socket: IoSocket,
    pid: string,
    offset: string | undefined,
  ): PendingResume | Refusal | undefined {
    const session = this.#sessions.take(pid, Date.now());
    if (!session) return undefined;
    if (!this.#complete()) return this.#refuse(socket, "redis_down");
    const unacceptable = this.#accepts(socket, session);
    if (unacceptable) return unacceptable;
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
  ): Promise<PendingResume | Refusal> {
    // Issued here and not held any more (expired, resumed, evicted): no other node has it.
    if (!this.#peers || sessionEpoch(pid) === this.#epoch) {
      return this.#refuse(socket, "no_session");
    }
    if (!this.#complete()) return this.#refuse(socket, "redis_down");
    if (this.#asking >= MAX_ASKING) return this.#refuse(socket, "busy");
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
      return this.#claimHere(socket, pid, offset) ?? this.#refuse(socket, "no_session");
    }
    if ("refused" in answer) {
      release();
      const refusal = REFUSALS.has(answer.refused) ? answer.refused as Refusal : "no_session";
      return this.#refuse(socket, refusal);
    }
    const { session, events, vector } = answer;
    const unacceptable = this.#accepts(socket, session);
    if (unacceptable) {
      release();
      return unacceptable;
    }
    socket.conn.once("close", release); // the connection may end before it connects
    const { sid, nsp, rooms, data } = session;
    return { sid, nsp, rooms, data, items: events, ownFrom, vector: new Map(vector), release };
  }

  /** Same namespace, same principal in the same audience; else why not. */
  #accepts(socket: IoSocket, session: { nsp: string; data: SocketData }): Refusal | undefined {
    if (session.nsp === socket.nsp.name && sameIdentity(session.data, socket.data)) {
      return undefined;
    }
    return this.#refuse(socket, "identity_changed");
  }

  /** Everything held here that the client of `session` missed after its `offset`, or why it cannot resume. */
  #missed(
    session: AwaySession,
    offset: string | undefined,
  ): readonly ReplayItem[] | "missed_events_gone" {
    const stream = session.from;
    const received = parseOffset(offset, stream ? stream.epoch : this.#epoch);
    // An offset this stream never issued (forged): what was missed cannot be known.
    if (!stream && received !== undefined && received > this.#seq) return "missed_events_gone";
    const since = Math.max(session.since, received ?? 0);
    const rooms = new Set(session.rooms);
    if (!stream) {
      const own = this.#replayable(this.#buffer, since);
      return own ? matching(own, session.nsp, rooms) : "missed_events_gone";
    }
    const theirs = this.#replayable(stream.buffer, since);
    const ours = this.#replayable(this.#buffer, stream.ownFrom);
    if (!theirs || !ours) return "missed_events_gone";
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

  #refuse(socket: IoSocket, refusal: Refusal): Refusal {
    this.#logger.debug(`socket ${socket.id} not recovered: ${refusal.replaceAll("_", " ")}`);
    return refusal;
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
