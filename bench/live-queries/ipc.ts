/**
 * Messages between the live-query bench runner (bench/live-queries/run.ts), its Strapi server process
 * (server.ts) and its client processes (client.ts).
 *
 * @module
 */
import type { CpuTime } from "../ipc.ts";

/** The filter of subscriber `index` of `distinct` filters: every one matches every bench article. */
export function filterOf(index: number, distinct: number): Record<string, unknown> {
  return { title: { $ne: `x${index % distinct}` } };
}

/** A reading of the server over a span of changes. */
export interface ServerReading {
  cpu: CpuTime;
  wallNs: number;
  /** Every knex query, and those of them that are a `count` (the live-query matching). */
  queries: number;
  counts: number;
}

export type ServerRequest =
  /** Until `sockets` are connected and `distinct` queries are subscribed. */
  | { type: "wait-ready"; sockets: number; distinct: number }
  /** Starts a reading, then updates `count` articles one after the other (each awaited). */
  | { type: "change"; count: number }
  /** Ends the reading `change` started. */
  | { type: "read" }
  | { type: "exit" };

export type ServerReply =
  | {
    type: "listening";
    port: number;
    /** The same number of updates with nobody subscribed, before any client connected. */
    baseline: ServerReading & { changes: number };
  }
  | { type: "ready"; sockets: number; distinct: number }
  | { type: "changed"; changes: number }
  | ({ type: "reading" } & ServerReading)
  | { type: "failed"; error: string };

export type ClientRequest =
  | {
    type: "connect";
    port: number;
    first: number;
    count: number;
    distinct: number;
    concurrency: number;
  }
  /** Reply `delivered` once every connection has received `through` content events in all. */
  | { type: "arm"; through: number }
  | { type: "report" }
  | { type: "exit" };

export type ClientReply =
  | { type: "started" }
  | {
    type: "subscribed";
    subscribed: number;
    failed: number;
    firstError: string;
    /** The distinct subscription ids the acknowledgements named. */
    ids: string[];
  }
  | {
    type: "delivered";
    connections: number;
    complete: number;
    /** Content events that carried this connection's subscription id / that did not. */
    events: number;
    foreign: number;
    names: string[];
    closed: number;
    firstError: string;
    /** hrtime ns of the last connection getting its last event. */
    lastAt: number;
    cpu: CpuTime;
  }
  | { type: "failed"; error: string };

/** Replies to the parent process. */
export function replyToRunner(message: ServerReply | ClientReply): void {
  process.send?.(message);
}
