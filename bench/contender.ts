/**
 * What every contender (and control) implements for the server process: serve the scenario's clients
 * and send one event of each workload on demand.
 *
 * @module
 */
import type { Server } from "node:http";

/** A started contender. `seq` numbers the events of a phase; it travels in the payload. */
export interface ContenderServer {
  readonly port: number;
  /** Connections fully set up (audience, followed entity and feed room joined). */
  setups(): number;
  /** A content event to every audience, one sanitized copy per permission set. */
  emit(seq: number): void | Promise<void>;
  /** A content event to the followers of one entity. */
  emitToEntity(seq: number): void;
  /** A raw event to everyone. */
  rawAll(seq: number): void | Promise<void>;
  /** A raw event to the feed room. */
  rawRoom(seq: number): void | Promise<void>;
  close(): Promise<void>;
}

/** Listens on an ephemeral loopback port and resolves with it (the contenders on node:http). */
export async function listenOnLoopback(httpServer: Server): Promise<number> {
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const address = httpServer.address();
  if (address === null || typeof address === "string") {
    throw new Error("bench: node:http did not bind a TCP port");
  }
  return address.port;
}

/** Reads the scenario's connection parameters from a handshake query. */
export function queryValue(query: Record<string, unknown>, key: string): string {
  const value = query[key];
  return typeof value === "string" ? value : "";
}
