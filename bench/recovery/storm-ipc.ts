/**
 * Messages between the storm runner (bench/recovery/storm.ts) and its child processes: the socket server
 * under test, the Strapi app answering REST, and the storm clients.
 *
 * @module
 */
import type { ChildProcess } from "node:child_process";
import type { StrapiIO } from "../../lib/io.ts";
import type { CpuTime } from "../ipc.ts";
import { nextReply } from "../ipc.ts";

/** What the storm needs of a server configuration. */
export interface StormTarget {
  io: StrapiIO;
  /** Where sockets connect; the REST URL ("" when the configuration serves none) and its body's end. */
  port: number;
  restUrl: string;
  restTail: string;
  documentBytes: number;
  seqMark: string;
  /** Sockets fully set up. */
  setups(): number;
  /** Emits content event `seq`. */
  emit(seq: number): Promise<void>;
  /** Database queries so far (0 forever where there is no database). */
  queries(): number;
  close(): Promise<void>;
}

/** The storm's server configurations (see bench/recovery/storm.ts). */
export const CONFIGURATIONS = ["core-on", "core-off", "strapi-sockets", "strapi-rest"] as const;
export type Configuration = (typeof CONFIGURATIONS)[number];

export type StormServerRequest =
  | { type: "wait-ready"; connections: number }
  /** Emits content events `from` … `from + count - 1`, one per loop turn. */
  | { type: "emit"; from: number; count: number }
  /** Waits until the server has noticed every lost connection (and, with recovery, kept its session). */
  | { type: "wait-away"; sessions: number }
  /** Starts a CPU (and, for Strapi, database query) reading; `read` ends it. */
  | { type: "mark" }
  | { type: "read" }
  | { type: "exit" };

export type StormServerReply =
  | {
    type: "listening";
    /** Where the storm's sockets connect (Socket.IO) and what the REST side fetches ("" without REST). */
    port: number;
    restUrl: string;
    /** How every REST body must end (its pagination total). */
    restTail: string;
    /** JSON size of one event's document, and the marker before an event's `seq` in its frame. */
    documentBytes: number;
    seqMark: string;
  }
  | { type: "ready"; setups: number }
  | { type: "emitted" }
  | { type: "away"; connected: number; sessions: number; bufferedEvents: number }
  | { type: "marked" }
  | { type: "reading"; cpu: CpuTime; wallNs: number; queries: number }
  | { type: "failed"; error: string };

export type StormClientRequest =
  | {
    type: "connect";
    port: number;
    first: number;
    count: number;
    connections: number;
    concurrency: number;
    seqMark: string;
  }
  /** Reply `caught-up` once every connection has every content event before `through`. */
  | { type: "arm"; through: number }
  | { type: "drop" }
  /** Opens every connection again (`concurrency` at a time); `caught-up` once every one has `through` (or is connected, when `through` is null). */
  | { type: "reconnect"; concurrency: number; through: number | null }
  /** `count` REST GETs of `url`, each on a new connection, `concurrency` at a time; each body must end with `expectTail`. */
  | { type: "fetch"; url: string; count: number; concurrency: number; expectTail: string }
  | { type: "report" }
  | { type: "exit" };

/** Per-connection completion times are sent as hrtime nanoseconds (same clock in every process on Linux). */
export type StormClientReply =
  | { type: "started" }
  | { type: "connected"; connected: number; failed: number; firstError: string }
  | { type: "armed" }
  | {
    type: "caught-up";
    connections: number;
    complete: number;
    recovered: number;
    misordered: number;
    /** Bytes of content events received in this phase, all connections together. */
    eventBytes: number;
    closed: number;
    firstError: string;
    doneAt: number[];
    cpu: CpuTime;
  }
  | { type: "dropped" }
  | {
    type: "fetched";
    ok: number;
    failed: number;
    firstError: string;
    bytes: number;
    doneAt: number[];
    cpu: CpuTime;
  }
  | { type: "failed"; error: string };

/** Sends `request` to `child` and resolves with its next reply of type `expect`. */
export function askChild<R extends { type: string }>(
  child: ChildProcess,
  request: StormServerRequest | StormClientRequest,
  expect: R["type"],
  timeoutMs: number,
): Promise<R> {
  const answer = nextReply<R>(child, expect, timeoutMs);
  child.send(request);
  return answer;
}

/** Replies to the parent process. */
export function replyToRunner(message: StormServerReply | StormClientReply): void {
  process.send?.(message);
}
