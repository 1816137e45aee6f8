/**
 * `limits`: the bounds on everything one client can cause (events, connections, payload size), their
 * defaults and their validation. `resolveOptions()` (options.ts) resolves them with the rest of the config.
 *
 * @module
 */
import { expectKnownKeys, expectPlainObject, fail, integerAtLeast } from "./config-checks.ts";

/** Client events of one socket: a token bucket, and a bound on the handlers it keeps busy. */
export interface EventLimitOptions {
  /** Client events per second a socket may send in the long run (the bucket's refill rate). @default 50 */
  rate?: number;
  /** Client events a socket may send at once (the bucket's size). @default 100 */
  burst?: number;
  /**
   * Refused events in a row (none accepted in between) after which the socket is disconnected with a
   * reason: sustained abuse, far over the limit.
   * @default 1000
   */
  disconnectAfter?: number;
  /** Client events of one socket whose handlers (database lookups included) may run at once. @default 8 */
  maxPending?: number;
}

/** Connections: caps per node and per identity, checked at the handshake. */
export interface ConnectionLimitOptions {
  /** Connections this node accepts. @default 50000 */
  maxPerNode?: number;
  /** Connections from one IP address. @default 500 */
  maxPerAddress?: number;
  /** Connections of one user (users-permissions JWT). @default 50 */
  maxPerUser?: number;
  /** Connections of one API token. @default 1000 */
  maxPerToken?: number;
  /**
   * Take the client's address from the first `X-Forwarded-For` entry (behind a reverse proxy or load
   * balancer you run); otherwise the peer address is used.
   * @default false
   */
  trustProxy?: boolean;
}

/** Bounds on everything a client can cause (see the README's "Limits and abuse"). */
export interface LimitOptions {
  events?: EventLimitOptions;
  connections?: ConnectionLimitOptions;
  /**
   * Largest WebSocket message or long-polling request body a client may send, in bytes (Socket.IO's
   * `maxHttpBufferSize`). A larger WebSocket message closes that connection; a larger long-polling body
   * is answered 413.
   * @default 1000000
   */
  maxPayload?: number;
}

/** `limits` with every default applied. */
export interface ResolvedLimits {
  events: Required<EventLimitOptions>;
  connections: Required<ConnectionLimitOptions>;
  maxPayload: number;
}

/** The defaults of `limits` (also part of `DEFAULTS`). */
export const LIMIT_DEFAULTS = {
  events: { rate: 50, burst: 100, disconnectAfter: 1000, maxPending: 8 },
  connections: {
    maxPerNode: 50_000,
    maxPerAddress: 500,
    maxPerUser: 50,
    maxPerToken: 1000,
    trustProxy: false,
  },
  maxPayload: 1_000_000,
} as const;

/** Merges `limits` with {@link LIMIT_DEFAULTS} and validates it (`TypeError` naming the key and the value). */
export function resolveLimits(limits: LimitOptions): ResolvedLimits {
  expectPlainObject(limits, "limits");
  expectKnownKeys(limits, Object.keys(LIMIT_DEFAULTS), "limits");
  const events = limits.events ?? {};
  expectPlainObject(events, "limits.events");
  expectKnownKeys(events, Object.keys(LIMIT_DEFAULTS.events), "limits.events");
  const connections = limits.connections ?? {};
  expectPlainObject(connections, "limits.connections");
  expectKnownKeys(connections, Object.keys(LIMIT_DEFAULTS.connections), "limits.connections");
  const eventDefaults = LIMIT_DEFAULTS.events;
  const connectionDefaults = LIMIT_DEFAULTS.connections;
  const rate = events.rate ?? eventDefaults.rate;
  if (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0) {
    fail("limits.events.rate", "a positive number of events per second", rate);
  }
  const trustProxy = connections.trustProxy ?? connectionDefaults.trustProxy;
  if (typeof trustProxy !== "boolean") {
    fail("limits.connections.trustProxy", "a boolean", trustProxy);
  }
  return {
    events: {
      rate,
      burst: integerAtLeast(
        events.burst ?? eventDefaults.burst,
        1,
        "limits.events.burst",
        "a positive integer",
      ),
      disconnectAfter: integerAtLeast(
        events.disconnectAfter ?? eventDefaults.disconnectAfter,
        1,
        "limits.events.disconnectAfter",
        "a positive integer",
      ),
      maxPending: integerAtLeast(
        events.maxPending ?? eventDefaults.maxPending,
        1,
        "limits.events.maxPending",
        "a positive integer",
      ),
    },
    connections: {
      maxPerNode: integerAtLeast(
        connections.maxPerNode ?? connectionDefaults.maxPerNode,
        1,
        "limits.connections.maxPerNode",
        "a positive integer",
      ),
      maxPerAddress: integerAtLeast(
        connections.maxPerAddress ?? connectionDefaults.maxPerAddress,
        1,
        "limits.connections.maxPerAddress",
        "a positive integer",
      ),
      maxPerUser: integerAtLeast(
        connections.maxPerUser ?? connectionDefaults.maxPerUser,
        1,
        "limits.connections.maxPerUser",
        "a positive integer",
      ),
      maxPerToken: integerAtLeast(
        connections.maxPerToken ?? connectionDefaults.maxPerToken,
        1,
        "limits.connections.maxPerToken",
        "a positive integer",
      ),
      trustProxy,
    },
    maxPayload: integerAtLeast(
      limits.maxPayload ?? LIMIT_DEFAULTS.maxPayload,
      1024,
      "limits.maxPayload",
      "an integer number of bytes",
    ),
  };
}
