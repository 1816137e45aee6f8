/**
 * A storm-client process: holds its share of the storm's connections (bench/recovery/resumable-connection.ts),
 * drops them all at once on the runner's command, opens them again and reports when every one has every
 * event; or, for the REST side of the storm, makes its share of the REST requests.
 *
 * @module
 */
import { request as httpGet } from "node:http";
import type { CpuTime } from "../ipc.ts";
import { connectionQuery, connectionRole } from "../scenario.ts";
import { ResumableConnection, type ResumableEvents } from "./resumable-connection.ts";
import { replyToRunner, type StormClientRequest } from "./storm-ipc.ts";

let connections: ResumableConnection[] = [];
let firstError = "";
let closed = 0;

/** Opening a list of connections, `concurrency` awaiting their CONNECT reply at a time. */
let opening: {
  list: ResumableConnection[];
  concurrency: number;
  next: number;
  inFlight: number;
  settled: number;
  failed: number;
  awaiting: Uint8Array;
  done: (failed: number) => void;
} | null = null;

/** The phase the runner waits for: every connection connected and holding every event before `through`. */
let phase: {
  through: number | null;
  doneAt: Float64Array;
  complete: number;
  cpu: CpuTime;
  /** Every connection's `eventBytes` when the phase started. */
  bytes: number;
  reported: boolean;
} | null = null;

function settle(connection: ResumableConnection, failed: boolean): void {
  const o = opening;
  if (!o || o.awaiting[connection.index - (o.list[0]?.index ?? 0)] !== 1) return;
  o.awaiting[connection.index - (o.list[0]?.index ?? 0)] = 0;
  o.inFlight -= 1;
  o.settled += 1;
  if (failed) o.failed += 1;
  pump();
}

function pump(): void {
  const o = opening;
  if (!o) return;
  while (o.next < o.list.length && o.inFlight < o.concurrency) {
    const connection = o.list[o.next] as ResumableConnection;
    o.awaiting[o.next] = 1;
    o.next += 1;
    o.inFlight += 1;
    connection.open();
  }
  if (o.settled === o.list.length) {
    opening = null;
    o.done(o.failed);
  }
}

function openAll(concurrency: number, done: (failed: number) => void): void {
  opening = {
    list: connections,
    concurrency,
    next: 0,
    inFlight: 0,
    settled: 0,
    failed: 0,
    awaiting: new Uint8Array(connections.length),
    done,
  };
  pump();
}

function checkComplete(connection: ResumableConnection, now: number): void {
  const p = phase;
  if (!p || !connection.isConnected) return;
  const i = connection.index - (connections[0]?.index ?? 0);
  if (p.doneAt[i] !== 0) return;
  if (p.through !== null && connection.nextSeq < p.through) return;
  p.doneAt[i] = now;
  p.complete += 1;
  if (p.complete === connections.length) report();
}

const events: ResumableEvents = {
  connected(connection, now) {
    settle(connection, false);
    checkComplete(connection, now);
  },
  event(connection, _seq, now) {
    checkComplete(connection, now);
  },
  closed(connection, why) {
    closed += 1;
    firstError ||= `connection ${connection.index}: ${why}`;
    settle(connection, true);
  },
};

function eventBytes(): number {
  return connections.reduce((sum, c) => sum + c.eventBytes, 0);
}

function startPhase(through: number | null): void {
  phase = {
    through,
    doneAt: new Float64Array(connections.length),
    complete: 0,
    cpu: process.cpuUsage(),
    bytes: eventBytes(),
    reported: false,
  };
}

function report(force = false): void {
  const p = phase;
  if (!p || (p.reported && !force)) return;
  p.reported = true;
  const cpu = process.cpuUsage(p.cpu);
  replyToRunner({
    type: "caught-up",
    connections: connections.length,
    complete: p.complete,
    recovered: connections.filter((c) => c.recovered).length,
    misordered: connections.reduce((sum, c) => sum + c.misordered, 0),
    eventBytes: eventBytes() - p.bytes,
    closed,
    firstError,
    doneAt: Array.from(p.doneAt),
    cpu: { user: cpu.user, system: cpu.system },
  });
}

/** `count` GETs, each on its own connection (a client back from a network loss has no live keep-alive). */
function fetchAll(url: string, count: number, concurrency: number, expectTail: string): void {
  const started = process.cpuUsage();
  const doneAt: number[] = [];
  let next = 0;
  let inFlight = 0;
  let ok = 0;
  let failed = 0;
  let bytes = 0;
  let fetchError = "";
  const finish = () => {
    const cpu = process.cpuUsage(started);
    replyToRunner({
      type: "fetched",
      ok,
      failed,
      firstError: fetchError,
      bytes,
      doneAt,
      cpu: { user: cpu.user, system: cpu.system },
    });
  };
  const fail = (why: string) => {
    failed += 1;
    fetchError ||= why;
  };
  const one = () => {
    const request = httpGet(url, { agent: false, headers: { connection: "close" } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        const body = Buffer.concat(chunks);
        bytes += body.length;
        const tail = body.toString("utf8", Math.max(0, body.length - expectTail.length));
        if (response.statusCode !== 200) fail(`HTTP ${response.statusCode}`);
        else if (tail !== expectTail) fail(`unexpected body end: ${tail}`);
        else ok += 1;
        doneAt.push(Number(process.hrtime.bigint()));
        inFlight -= 1;
        pumpFetch();
      });
    });
    request.on("error", (error) => {
      fail(error.message);
      doneAt.push(Number(process.hrtime.bigint()));
      inFlight -= 1;
      pumpFetch();
    });
    request.end();
  };
  const pumpFetch = () => {
    while (next < count && inFlight < concurrency) {
      next += 1;
      inFlight += 1;
      one();
    }
    if (inFlight === 0 && next === count) finish();
  };
  pumpFetch();
}

process.on("message", (request: StormClientRequest) => {
  try {
    switch (request.type) {
      case "connect": {
        connections = [];
        const seqMark = Buffer.from(request.seqMark);
        for (let i = 0; i < request.count; i += 1) {
          const index = request.first + i;
          const path = `/socket.io/?EIO=4&transport=websocket&${
            connectionQuery(connectionRole(index, request.connections))
          }`;
          connections.push(new ResumableConnection(index, request.port, path, events, seqMark));
        }
        openAll(request.concurrency, (failed) =>
          replyToRunner({
            type: "connected",
            connected: connections.length - failed,
            failed,
            firstError,
          }));
        break;
      }
      case "arm":
        startPhase(request.through);
        replyToRunner({ type: "armed" });
        if (connections.length === 0) report();
        break;
      case "drop":
        phase = null;
        for (const connection of connections) connection.drop();
        replyToRunner({ type: "dropped" });
        break;
      case "reconnect":
        startPhase(request.through);
        openAll(request.concurrency, () => {});
        break;
      case "fetch":
        fetchAll(request.url, request.count, request.concurrency, request.expectTail);
        break;
      case "report":
        report(true);
        break;
      case "exit":
        for (const connection of connections) connection.drop();
        connections = [];
        process.disconnect?.();
        setTimeout(() => process.exit(0), 200).unref();
        break;
    }
  } catch (error) {
    replyToRunner({ type: "failed", error: String(error) });
  }
});

replyToRunner({ type: "started" });
