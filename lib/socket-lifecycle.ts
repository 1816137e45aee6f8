/**
 * What happens to every socket of every served namespace, in order: the handshake (connection caps, the
 * policy's identification, the principal's cap, resuming a session — last, since it changes the socket's
 * id) and the connection (the replay of a resumed socket first, then its audience room, its limits and
 * counters, the client-event guard, entity subscriptions, and the app's handler). Per-socket listeners are
 * shared functions called with the socket as `this`: a connection holds no closures of its own.
 *
 * @module
 */
import { type AccessPolicy, HandshakeError } from "./access-policy.ts";
import type { ClientGuard } from "./client-guard.ts";
import type { ConnectionLimits } from "./connection-limits.ts";
import type { LiveQueries } from "./live-queries.ts";
import { errorMessage, type Logger } from "./logger.ts";
import type { Metrics } from "./metrics/metrics.ts";
import type { Recovery } from "./recovery/recovery.ts";
import { audienceRoom } from "./room-names.ts";
import type { IoNamespace, IoSocket } from "./types.ts";

/** What the lifecycle uses; `onConnection` is read for each socket (the plugin sets it at start). */
export interface SocketLifecycleParts {
  policy: AccessPolicy;
  limits: ConnectionLimits;
  recovery: Recovery | undefined;
  metrics: Metrics;
  /** Told of every connected socket (for `$io.overview()` and `$io.listConnections()`). */
  operations: { connected(socket: IoSocket): void };
  guard: ClientGuard;
  liveQueries: LiveQueries;
  logger: Logger;
  onConnection(): ((socket: IoSocket, guard: ClientGuard) => void) | undefined;
}

/** Installs the handshake middleware and the connection handler on each of `namespaces`. */
export function installSocketLifecycle(
  namespaces: readonly IoNamespace[],
  parts: SocketLifecycleParts,
): void {
  const { policy, limits, recovery, metrics, guard, liveQueries, logger } = parts;
  const releasePrincipal = function (this: IoSocket) {
    limits.releasePrincipal(this);
  };
  const countDisconnect = function (this: IoSocket, reason: string) {
    metrics.disconnected(this, reason);
  };
  const refuse = (next: (error?: Error) => void, error: HandshakeError) => {
    metrics.refused(error.data.code);
    next(error);
  };
  const identify = async (socket: IoSocket) => {
    const identity = await policy.identify(socket);
    socket.data = { ...identity, entitySubscriptions: [] };
  };

  for (const namespace of namespaces) {
    namespace.use((socket, next) => {
      const refused = limits.admit(socket);
      if (refused) return refuse(next, refused);
      identify(socket).then(
        async () => {
          // Socket.IO adds the socket to its connection before any other packet is read: no gap.
          limits.settled(socket);
          const refused = limits.admitPrincipal(socket);
          if (refused) return refuse(next, refused);
          // Last: resuming a session gives the socket that session's id.
          await recovery?.resume(socket).catch((error) =>
            logger.error(`could not resume a session: ${errorMessage(error)}`)
          );
          next();
        },
        (error) => {
          limits.settled(socket);
          refuse(next, handshakeFailure(error));
        },
      );
    });
    namespace.on("connection", (socket) => {
      logger.debug(
        `socket ${socket.id} connected to ${namespace.name} as ${socket.data.role ?? "unknown"}`,
      );
      // First, in the turn of the CONNECT reply: a resumed socket gets what it missed before anything newer.
      recovery?.restore(socket);
      // Joined only now (not at the handshake): no broadcast reaches a socket before its CONNECT reply.
      if (socket.data.audience !== undefined) socket.join(audienceRoom(socket.data.audience));
      if (socket.data.principal) socket.once("disconnect", releasePrincipal);
      parts.operations.connected(socket);
      if (metrics.countsSockets) {
        metrics.connected(socket);
        socket.on("disconnect", countDisconnect);
      }
      guard.install(socket);
      liveQueries.attach(socket);
      parts.onConnection()?.(socket, guard);
    });
  }
}

/** Turns whatever a policy threw into the error Socket.IO sends as `connect_error`. */
function handshakeFailure(error: unknown): HandshakeError {
  if (error instanceof HandshakeError) return error;
  return new HandshakeError("handshake_failed", `Handshake failed: ${errorMessage(error)}`);
}
