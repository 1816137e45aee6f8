/**
 * Messages between the runner and its child processes (the server under test, the load clients), and a
 * small typed request/response helper over Node's IPC channel.
 *
 * @module
 */
import type { ChildProcess } from "node:child_process";
import type { ContenderName, Mode, Workload } from "./scenario.ts";

export interface CpuTime {
  user: number;
  system: number;
}

export type ServerRequest =
  | { type: "wait-ready"; connections: number }
  | { type: "run"; workload: Workload; mode: Mode; events: number; burst: number }
  | { type: "stop" }
  | { type: "memory" }
  | { type: "exit" };

export type ServerReply =
  | { type: "listening"; port: number; contender: ContenderName }
  | { type: "ready"; setups: number }
  | { type: "emitted"; emitTimes: number[]; syncNs: number[] }
  | { type: "stopped"; cpu: CpuTime; wallNs: number }
  | { type: "memory"; rss: number; heapUsed: number }
  | { type: "failed"; error: string };

export type ClientRequest =
  | {
    type: "connect";
    port: number;
    first: number;
    count: number;
    connections: number;
    concurrency: number;
  }
  | { type: "arm"; workload: Workload; events: number }
  | { type: "report" }
  | { type: "exit" };

export type ClientReply =
  | { type: "started" }
  | { type: "connected"; connected: number; failed: number; firstError: string }
  | { type: "armed" }
  | {
    type: "done";
    received: number;
    expected: number;
    mismatched: number;
    closed: number;
    lastArrival: number[];
    cpu: CpuTime;
  }
  | { type: "failed"; error: string };

/** Resolves with `child`'s next reply of type `expect`; rejects on `failed`, on exit or after `timeoutMs`. */
export function nextReply<R extends { type: string }>(
  child: ChildProcess,
  expect: R["type"],
  timeoutMs: number,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(
      () => finish(new Error(`bench: no '${expect}' within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (message: { type: string; error?: string }) => {
      if (message.type === expect) finish(undefined, message as R);
      else if (message.type === "failed") finish(new Error(`bench child failed: ${message.error}`));
    };
    const onExit = (code: number | null) =>
      finish(new Error(`bench child exited (${code}) before '${expect}'`));
    function finish(error?: Error, value?: R): void {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
      if (error) reject(error);
      else resolve(value as R);
    }
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

/** Sends `request` to `child` and resolves with its next reply of type `expect`. */
export function ask<R extends { type: string }>(
  child: ChildProcess,
  request: ServerRequest | ClientRequest,
  expect: R["type"],
  timeoutMs: number,
): Promise<R> {
  const answer = nextReply<R>(child, expect, timeoutMs);
  child.send(request);
  return answer;
}

/** Replies to the parent process. */
export function reply(message: ServerReply | ClientReply): void {
  process.send?.(message);
}
