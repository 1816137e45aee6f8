/**
 * What strapi-io answers over plain HTTP on a port of its own (uWS's, or the server `node-http` creates when
 * it is not given Strapi's): health for load balancers and Kubernetes probes, and a plain `404 Not Found`
 * for every other path that is not Socket.IO's (a connection closed without a reply reads as a dead node).
 *
 * @module
 */
import { expectKnownKeys, expectPlainObject, fail, integerAtLeast } from "./config-checks.ts";

/** Health endpoints (see the README's "Operations"). */
export interface HealthOptions {
  /** Serve `<path>/live` and `<path>/ready`. @default true */
  enabled?: boolean;
  /** Where. @default "/health" */
  path?: string;
  /**
   * How long `close()` (the plugin's destroy, which Strapi runs on SIGTERM) keeps serving connected clients
   * while `<path>/ready` answers 503, before it closes them: time for balancers to stop sending new ones.
   * @default 0
   */
  drainDelay?: number;
}

export type ResolvedHealth = Required<HealthOptions>;

/** The defaults of `health` (also part of `DEFAULTS`). */
export const HEALTH_DEFAULTS = { enabled: true, path: "/health", drainDelay: 0 } as const;

const ROUTE_PATH = /^(\/[A-Za-z0-9_\-.]+)+$/;

/** Merges `health` with {@link HEALTH_DEFAULTS} and validates it. */
export function resolveHealth(health: HealthOptions): ResolvedHealth {
  expectPlainObject(health, "health");
  expectKnownKeys(health, Object.keys(HEALTH_DEFAULTS), "health");
  const enabled = health.enabled ?? HEALTH_DEFAULTS.enabled;
  if (typeof enabled !== "boolean") fail("health.enabled", "a boolean", enabled);
  const path = health.path ?? HEALTH_DEFAULTS.path;
  if (typeof path !== "string" || !ROUTE_PATH.test(path)) {
    fail("health.path", "a path like '/health' (no trailing slash)", path);
  }
  const drainDelay = integerAtLeast(
    health.drainDelay ?? HEALTH_DEFAULTS.drainDelay,
    0,
    "health.drainDelay",
    "an integer number of milliseconds",
  );
  return { enabled, path, drainDelay };
}

/** A plain HTTP answer. */
export interface HttpAnswer {
  status: number;
  body: string;
  /** @default "application/json" */
  contentType?: string;
  headers?: Record<string, string>;
}

/** What a route sees of a request (read before any await: a uWS request is gone after its handler returns). */
export interface PlainRequest {
  method: string;
  /** Without the query string. */
  path: string;
  authorization: string;
}

/** Requests the core answers itself beside Socket.IO; `undefined` for a path it does not serve. */
export interface HttpRoutes {
  answer(request: PlainRequest): HttpAnswer | Promise<HttpAnswer> | undefined;
}

/** The first of `routes` that serves the request. */
export function firstOf(...routes: HttpRoutes[]): HttpRoutes {
  return {
    answer(request) {
      for (const route of routes) {
        const answer = route.answer(request);
        if (answer) return answer;
      }
      return undefined;
    },
  };
}

/** Why a node is not ready, or nothing when it is. */
export type Readiness = () => string[];

/**
 * Liveness (`<path>/live`: the process answers) and readiness (`<path>/ready`: 200 when `readiness()`
 * finds nothing wrong, else 503 with the reasons).
 */
export function healthRoutes(health: ResolvedHealth, readiness: Readiness): HttpRoutes {
  const live = `${health.path}/live`;
  const ready = `${health.path}/ready`;
  return {
    answer({ method, path }) {
      if (!health.enabled || (method !== "GET" && method !== "HEAD")) return undefined;
      if (path === live) return { status: 200, body: JSON.stringify({ status: "live" }) };
      if (path !== ready) return undefined;
      const reasons = readiness();
      return reasons.length === 0
        ? { status: 200, body: JSON.stringify({ status: "ready" }) }
        : { status: 503, body: JSON.stringify({ status: "unready", reasons }) };
    },
  };
}

/** What every other path gets. */
export const NOT_FOUND: HttpAnswer = {
  status: 404,
  body: JSON.stringify({ error: "Not Found" }),
};

/** HTTP status lines uWS needs spelled out. */
export const STATUS_TEXT: Record<number, string> = {
  200: "200 OK",
  401: "401 Unauthorized",
  404: "404 Not Found",
  500: "500 Internal Server Error",
  503: "503 Service Unavailable",
};

/** `GET <path>` with `Authorization: Bearer <token>` renders `metrics`; without the token, 401. */
export function metricsRoute(
  path: string,
  token: string,
  render: () => Promise<{ contentType: string; body: string }>,
): HttpRoutes {
  const expected = `Bearer ${token}`;
  return {
    answer({ method, path: requested, authorization }) {
      if (requested !== path || method !== "GET") return undefined;
      if (!sameText(authorization, expected)) {
        return {
          status: 401,
          body: JSON.stringify({ error: "Unauthorized" }),
          headers: { "www-authenticate": 'Bearer realm="strapi-io metrics"' },
        };
      }
      return render().then(
        ({ contentType, body }) => ({ status: 200, body, contentType }),
        () => ({ status: 500, body: JSON.stringify({ error: "Could not render metrics" }) }),
      );
    },
  };
}

/** Compares in time independent of where the texts differ (a token must not leak through timing). */
function sameText(given: string, expected: string): boolean {
  let difference = given.length ^ expected.length;
  for (let index = 0; index < expected.length; index += 1) {
    difference |= (given.charCodeAt(index) || 0) ^ expected.charCodeAt(index);
  }
  return difference === 0;
}
