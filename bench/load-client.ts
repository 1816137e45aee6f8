/**
 * A load-client process: opens its share of the scenario's connections with the minimal protocol
 * client, then counts, per phase, what each connection receives and when the last copy of every event
 * arrived. Reports to the runner when every connection has what the scenario says it must have.
 *
 * @module
 */
import { type ClientReply, type ClientRequest, type CpuTime, reply } from "./ipc.ts";
import { type ConnectionEvents, ProtocolConnection } from "./protocol-client.ts";
import { connectionQuery, connectionRole, expectedMessages, type Workload } from "./scenario.ts";

let connections: ProtocolConnection[] = [];
let totalConnections = 0;
let phase: {
  expected: Uint32Array;
  expectedTotal: number;
  received: number;
  lastArrival: Float64Array;
  cpu: CpuTime;
  reported: boolean;
} | null = null;
let closedCount = 0;
let onConnected: (() => void) | null = null;
let connectedCount = 0;
let failedCount = 0;
let firstError = "";

const events: ConnectionEvents = {
  connected() {
    connectedCount += 1;
    onConnected?.();
  },
  message(_connection, seq, now) {
    if (!phase) return;
    phase.received += 1;
    if (seq >= 0 && seq < phase.lastArrival.length && now > (phase.lastArrival[seq] as number)) {
      phase.lastArrival[seq] = now;
    }
    if (phase.received === phase.expectedTotal) report();
  },
  closed(connection, why) {
    closedCount += 1;
    if (!connection.isConnected) {
      failedCount += 1;
      firstError ||= why;
      onConnected?.();
    } else if (closedCount <= 3) {
      console.error(`bench client: connection ${connection.index} closed: ${why}`);
    }
  },
};

function report(force = false): void {
  if (!phase || (phase.reported && !force)) return;
  phase.reported = true;
  const cpu = process.cpuUsage();
  let mismatched = 0;
  connections.forEach((connection, i) => {
    if (connection.received !== phase!.expected[i]) mismatched += 1;
  });
  const message: ClientReply = {
    type: "done",
    received: phase.received,
    expected: phase.expectedTotal,
    mismatched,
    closed: closedCount,
    lastArrival: Array.from(phase.lastArrival),
    cpu: { user: cpu.user - phase.cpu.user, system: cpu.system - phase.cpu.system },
  };
  reply(message);
}

function connectAll(port: number, first: number, count: number, concurrency: number): void {
  let next = 0;
  const openNext = () => {
    while (next < count && next - (connectedCount + failedCount) < concurrency) {
      const index = first + next;
      const path = `/socket.io/?EIO=4&transport=websocket&${
        connectionQuery(connectionRole(index, totalConnections))
      }`;
      connections.push(new ProtocolConnection(index, port, path, events));
      next += 1;
    }
    if (connectedCount + failedCount === count) {
      onConnected = null;
      reply({ type: "connected", connected: connectedCount, failed: failedCount, firstError });
    }
  };
  onConnected = openNext;
  openNext();
}

function arm(workload: Workload, eventCount: number): void {
  const expected = new Uint32Array(connections.length);
  let expectedTotal = 0;
  connections.forEach((connection, i) => {
    connection.received = 0;
    expected[i] = connection.isClosed
      ? 0
      : expectedMessages(workload, eventCount, connection.index, totalConnections);
    expectedTotal += expected[i] as number;
  });
  phase = {
    expected,
    expectedTotal,
    received: 0,
    lastArrival: new Float64Array(eventCount),
    cpu: process.cpuUsage(),
    reported: false,
  };
  reply({ type: "armed" });
  if (expectedTotal === 0) report();
}

process.on("message", (request: ClientRequest) => {
  try {
    switch (request.type) {
      case "connect":
        totalConnections = request.connections;
        connectAll(request.port, request.first, request.count, request.concurrency);
        break;
      case "arm":
        arm(request.workload, request.events);
        break;
      case "report":
        report(true);
        break;
      case "exit":
        for (const connection of connections) connection.destroy();
        connections = [];
        process.disconnect?.();
        setTimeout(() => process.exit(0), 200).unref();
        break;
    }
  } catch (error) {
    reply({ type: "failed", error: String(error) });
  }
});

reply({ type: "started" });
