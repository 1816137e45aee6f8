/**
 * One `$io` node in its own process, for the cluster tests: started by `test/support/cluster.ts` with
 * `node --import tsx`, its options as JSON in argv[2]. It answers `{ id, method, args }` messages over IPC
 * with `{ id, result }` or `{ id, error }`: every `$io` method by name, plus the probes below.
 *
 * Sockets are identified from `auth` (`{ role, userId, audience }`: the audience key to join, as a Strapi
 * node would for a role); a socket with role `reader` may not follow the entity id `forbidden` — so a test
 * can see whose policy check ran, and against which identity.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import type { AccessPolicy } from "../../lib/access-policy.ts";
import { createSocketIO } from "../../lib/create-socket-io.ts";
import type { IoSocket } from "../../lib/types.ts";

const lines: Array<{ level: string; message: string }> = [];
const record = (level: string) => (message: string) => void lines.push({ level, message });
const logger = {
  debug: () => {},
  info: record("info"),
  warn: record("warn"),
  error: record("error"),
};

const failures: string[] = [];
process.on(
  "unhandledRejection",
  (reason) => void failures.push(`unhandledRejection: ${String(reason)}`),
);
process.on(
  "uncaughtException",
  (error) => void failures.push(`uncaughtException: ${error.message}`),
);

const policy: AccessPolicy = {
  identify: async (socket) => {
    const auth = socket.handshake.auth as { role?: string; userId?: number; audience?: string };
    const user = auth.userId ? { id: auth.userId, username: `user${auth.userId}` } : null;
    return {
      role: auth.role ?? "public",
      userId: auth.userId,
      user,
      audience: auth.audience,
    };
  },
  deliveries: async (_event, _schema, data) => [{ to: "everyone", payload: { data } }],
  authorizeEntity: async (identity, _uid, id) =>
    identity.role === "reader" && id === "forbidden"
      ? { allowed: false, error: `Forbidden for ${identity.role}` }
      : { allowed: true, id: String(id) },
};

/** Per-socket writes (Socket.IO's per-socket path); uWS native publishes do not count here. */
const perSocketWrites = new Map<string, number>();
function countWrites(socket: IoSocket): void {
  const client = socket.client as unknown as { writeToEngine: (...args: unknown[]) => void };
  const original = client.writeToEngine.bind(client);
  client.writeToEngine = (...args) => {
    perSocketWrites.set(socket.id, (perSocketWrites.get(socket.id) ?? 0) + 1);
    original(...args);
  };
}

let reconnects = 0;
let io: Awaited<ReturnType<typeof createSocketIO>>;
try {
  io = await createSocketIO(JSON.parse(process.argv[2] ?? "{}"), {
    logger,
    policy,
    onConnection: countWrites,
    onClusterReconnect: () => void (reconnects += 1),
  });
} catch (error) {
  process.send!({ bootError: error instanceof Error ? error.message : String(error) });
  process.disconnect?.();
  process.exit(0);
}

const probes: Record<string, (...args: any[]) => unknown> = {
  logs: () => lines,
  failures: () => failures,
  reconnects: () => reconnects,
  writes: (socketId: string) => perSocketWrites.get(socketId) ?? 0,
  localRooms: (socketId: string) => [...(io.server.of("/").sockets.get(socketId)?.rooms ?? [])],
  /** Whether the socket connected here resumed a session (`undefined` when it is not connected here). */
  recovered: (socketId: string) => io.server.of("/").sockets.get(socketId)?.recovered,
  close: async () => {
    await io.close();
    setImmediate(() => process.disconnect?.());
    return true;
  },
};

process.on("message", async (message: { id: number; method: string; args: unknown[] }) => {
  const { id, method, args } = message;
  try {
    const target = probes[method] ??
      (io as unknown as Record<string, (...a: unknown[]) => unknown>)[method]?.bind(io);
    if (!target) throw new Error(`unknown method ${method}`);
    process.send!({ id, result: await target(...args) });
  } catch (error) {
    process.send!({ id, error: error instanceof Error ? error.message : String(error) });
  }
});

process.send!({ ready: true, port: io.port, transport: io.transport });
