/**
 * The sessions of sockets that lost their connection and may still come back: what a recovered socket
 * gets back (its id, rooms and `socket.data`) and where its replay starts. Each is taken at most once,
 * expires `window` ms after the disconnect, and the oldest goes first past `maxSessions` (so churning
 * connections cost memory up to a bound, never in proportion to their rate).
 *
 * It also answers which rooms have a member away: `emit()` must still sanitize and send to an audience
 * whose only sockets are away, or those would have nothing to replay.
 *
 * @module
 */
import type { Room } from "socket.io-adapter";
import type { SocketData } from "../types.ts";
import type { HandedOffStream } from "./handoff.ts";

/** A socket away, as it was when it lost its connection. */
export interface AwaySession {
  readonly pid: string;
  readonly sid: string;
  readonly nsp: string;
  readonly rooms: readonly Room[];
  readonly data: SocketData;
  /** The client has every event for it up to this stream position, whatever offset it sends. */
  readonly since: number;
  readonly expiresAt: number;
  /** Set for a session another node handed over as it shut down: `since` is a position of its stream. */
  readonly from?: HandedOffStream;
}

/** Sessions of sockets away, by session id. */
export class SessionStore {
  readonly #maxSessions: number;
  /** In the order they were saved, which is also the order they expire in. */
  readonly #sessions = new Map<string, AwaySession>();
  /** The sessions in each room. */
  readonly #rooms = new Map<Room, Set<AwaySession>>();

  constructor(maxSessions: number) {
    this.#maxSessions = maxSessions;
  }

  get size(): number {
    return this.#sessions.size;
  }

  save(session: AwaySession, now: number): void {
    this.expire(now);
    this.#delete(session.pid);
    if (this.#sessions.size >= this.#maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#delete(oldest);
    }
    this.#sessions.set(session.pid, session);
    for (const room of session.rooms) {
      const members = this.#rooms.get(room);
      if (members) members.add(session);
      else this.#rooms.set(room, new Set([session]));
    }
  }

  /** Removes and returns the session `pid` if it has not expired. */
  take(pid: string, now: number): AwaySession | undefined {
    this.expire(now);
    const session = this.#sessions.get(pid);
    if (session) this.#delete(pid);
    return session;
  }

  /** Removes and returns every session of this node's own (not handed over by another node). */
  takeOwn(): AwaySession[] {
    const own = [...this.#sessions.values()].filter((session) => !session.from);
    for (const session of own) this.#delete(session.pid);
    return own;
  }

  /** Whether a session away is in `room`. */
  inRoom(room: Room): boolean {
    return this.#rooms.has(room);
  }

  /** The sessions away in `room`. */
  membersOf(room: Room): Iterable<AwaySession> {
    return this.#rooms.get(room) ?? [];
  }

  /** Drops the sessions expired at `now`. */
  expire(now: number): void {
    for (const session of this.#sessions.values()) {
      if (session.expiresAt > now) return;
      this.#delete(session.pid);
    }
  }

  clear(): void {
    this.#sessions.clear();
    this.#rooms.clear();
  }

  #delete(pid: string): void {
    const session = this.#sessions.get(pid);
    if (!session) return;
    this.#sessions.delete(pid);
    for (const room of session.rooms) {
      const members = this.#rooms.get(room);
      members?.delete(session);
      if (members?.size === 0) this.#rooms.delete(room);
    }
  }
}
