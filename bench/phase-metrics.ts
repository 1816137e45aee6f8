/**
 * Turns one phase's raw readings (emit times, clients' counts and last arrivals, server CPU) into the
 * metrics of the tables.
 *
 * @module
 */
import type { ClientReply, ServerReply } from "./ipc.ts";
import { median, percentile } from "./metrics.ts";
import type { ContenderName, Mode, Workload } from "./scenario.ts";

export interface PhaseResult {
  workload: Workload;
  mode: Mode;
  events: number;
  burst: number;
  delivered: number;
  expected: number;
  /** Messages expected but not received, and connections closed by the server (none is the norm). */
  lost: number;
  mismatchedConnections: number;
  closed: number;
  cpuUsPerDelivery: number;
  /** The kernel's share of it (sends on loopback are mostly kernel time). */
  systemUsPerDelivery: number;
  deliveriesPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Median synchronous time of one emit call in the server (µs). */
  syncEmitUs: number;
  /** Cores other processes used during the phase. */
  foreignCores: number;
  attempts: number;
  disturbed: boolean;
}

export interface SessionResult {
  contender: ContenderName;
  connections: number;
  acceptedPerSecond: number;
  idleBytesPerConnection: number;
  heapBytesPerConnection: number;
  phases: PhaseResult[];
}

interface PhaseReadings {
  workload: Workload;
  mode: Mode;
  events: number;
  burst: number;
  emitted: Extract<ServerReply, { type: "emitted" }>;
  reports: Array<Extract<ClientReply, { type: "done" }>>;
  stopped: Extract<ServerReply, { type: "stopped" }>;
  foreign: number;
  attempts: number;
  disturbed: boolean;
}

export function phaseMetrics(r: PhaseReadings): PhaseResult {
  const delivered = r.reports.reduce((sum, report) => sum + report.received, 0);
  const expected = r.reports.reduce((sum, report) => sum + report.expected, 0);
  const latencies: number[] = [];
  let lastDelivery = 0;
  for (let seq = 0; seq < r.events; seq += 1) {
    let last = 0;
    for (const report of r.reports) last = Math.max(last, report.lastArrival[seq] ?? 0);
    if (last === 0) continue;
    lastDelivery = Math.max(lastDelivery, last);
    latencies.push((last - (r.emitted.emitTimes[seq] as number)) / 1e6);
  }
  const firstEmit = r.emitted.emitTimes[0] as number;
  const cpuUs = r.stopped.cpu.user + r.stopped.cpu.system;
  return {
    workload: r.workload,
    mode: r.mode,
    events: r.events,
    burst: r.burst,
    delivered,
    expected,
    lost: Math.max(0, expected - delivered),
    mismatchedConnections: r.reports.reduce((sum, report) => sum + report.mismatched, 0),
    closed: r.reports.reduce((sum, report) => sum + report.closed, 0),
    cpuUsPerDelivery: cpuUs / Math.max(1, delivered),
    systemUsPerDelivery: r.stopped.cpu.system / Math.max(1, delivered),
    deliveriesPerSecond: delivered / Math.max(1e-9, (lastDelivery - firstEmit) / 1e9),
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    syncEmitUs: median(r.emitted.syncNs) / 1000,
    foreignCores: r.foreign,
    attempts: r.attempts,
    disturbed: r.disturbed,
  };
}
