/**
 * What nodes of a cluster tell each other so that a client can resume on a node other than the one it
 * was on (DESIGN.md, decision 9: every node can answer a recovery).
 *
 * Each node numbers what it delivers in a stream of its own; what makes two streams comparable is the
 * **origin** of each broadcast: the publishing adapter's id and its count of broadcasts, carried in the
 * Redis message, so the same on every node. A node's **vector** is, per origin, the highest count it has
 * delivered. Redis delivers each publisher's messages in order, so "everything of origin o up to n" is a
 * prefix, and two nodes' streams can be stitched without loss or duplicate:
 *
 * - **Resume on another node** (the old node is up): the new node asks every node for the session; the
 *   one holding it answers with the session, the events the client missed there, and its vector. The new
 *   node replays those, then what its own stream holds since it asked, less what the vector covers. While
 *   it waits, it keeps every broadcast from other nodes (it does not know the session's rooms yet).
 * - **Graceful shutdown** (a rolling deploy): the leaving node announces a hand-off, waits until every
 *   node has received the announcement (from then on they keep every broadcast), then sends its sessions
 *   and its stream (the part the sessions need) to all of them. Any node can then resume those sessions
 *   itself: the leaving node's stream first, then its own since the announcement, less the vector.
 *
 * @module
 */
import type { Room } from "socket.io-adapter";
import type { SocketData } from "../types.ts";
import { type BufferedEvent, type BufferEntry, ReplayBuffer } from "./replay-buffer.ts";
import type { AwaySession } from "./session-store.ts";

/** Per origin, the highest broadcast count delivered. */
export type Vector = ReadonlyMap<string, number>;

/** Another node's stream, as it handed it over. */
export interface HandedOffStream {
  readonly epoch: string;
  readonly buffer: ReplayBuffer;
  readonly vector: Vector;
  /** This node's stream position when the hand-off was announced: its own events count after it. */
  readonly ownFrom: number;
}

/** An event to replay that another node delivered: the packet as it sent it (offset last). */
export interface CarriedEvent {
  type: number;
  nsp: string;
  data: unknown[];
}

/** A session as it travels between nodes. */
export interface CarriedSession {
  pid: string;
  sid: string;
  nsp: string;
  rooms: string[];
  data: SocketData;
  since: number;
  expiresAt: number;
}

/** A new node's request for a session it does not hold. */
export interface ResumeRequest {
  pid: string;
  offset?: string;
}

/** The holding node's answer: the session and what the client missed there, or why it cannot resume. */
export type ResumeAnswer =
  | { session: CarriedSession; events: CarriedEvent[]; vector: Array<[string, number]> }
  | { refused: string };

/** An entry of a stream as it travels (sets as arrays). */
export type CarriedEntry =
  | {
    kind: "event";
    seq: number;
    at: number;
    nsp: string;
    type: number;
    data: unknown[];
    rooms: string[];
    except?: string[];
    origin?: string;
    originSeq?: number;
  }
  | { kind: "break"; seq: number; at: number };

/** What a leaving node hands over. */
export interface Handoff {
  epoch: string;
  evictedThrough: number;
  vector: Array<[string, number]>;
  sessions: CarriedSession[];
  entries: CarriedEntry[];
}

export function carrySession(session: AwaySession): CarriedSession {
  const { pid, sid, nsp, rooms, data, since, expiresAt } = session;
  return { pid, sid, nsp, rooms: rooms.map(String), data, since, expiresAt };
}

export function carryEntry(entry: BufferEntry): CarriedEntry {
  if (entry.kind === "break") return { kind: "break", seq: entry.seq, at: entry.at };
  const { seq, at, nsp, type, data, rooms, except, origin, originSeq } = entry;
  return {
    kind: "event",
    seq,
    at,
    nsp,
    type,
    data: [...data],
    rooms: [...rooms].map(String),
    ...(except ? { except: [...except].map(String) } : {}),
    ...(origin !== undefined ? { origin, originSeq } : {}),
  };
}

/** Rebuilds a handed-over stream, with this node's position at the announcement. */
export function receiveStream(
  handoff: Handoff,
  ownFrom: number,
  retention: number,
): HandedOffStream {
  const buffer = new ReplayBuffer(
    Math.max(1, handoff.entries.length),
    retention,
    handoff.evictedThrough,
  );
  for (const entry of handoff.entries) buffer.append(uncarryEntry(entry));
  return { epoch: handoff.epoch, buffer, vector: new Map(handoff.vector), ownFrom };
}

function uncarryEntry(entry: CarriedEntry): BufferEntry {
  if (entry.kind === "break") return entry;
  const event: BufferedEvent = {
    kind: "event",
    seq: entry.seq,
    at: entry.at,
    nsp: entry.nsp,
    type: entry.type,
    data: entry.data,
    rooms: new Set<Room>(entry.rooms),
    except: entry.except ? new Set<Room>(entry.except) : undefined,
    origin: entry.origin,
    originSeq: entry.originSeq,
  };
  return event;
}

/** Whether another node's `vector` says it delivered `entry` already. */
export function covers(vector: Vector | undefined, entry: BufferedEvent): boolean {
  if (!vector || entry.origin === undefined || entry.originSeq === undefined) return false;
  return entry.originSeq <= (vector.get(entry.origin) ?? 0);
}

/** The origin the cluster overlay stamped in a broadcast's flags: `[adapter id, count]`. */
export function originOf(flags: unknown): [string, number] | undefined {
  const origin = (flags as { origin?: unknown } | undefined)?.origin;
  if (!Array.isArray(origin) || typeof origin[0] !== "string") return undefined;
  return Number.isSafeInteger(origin[1]) ? [origin[0], origin[1] as number] : undefined;
}
