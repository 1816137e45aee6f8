/**
 * `metrics`: whether strapi-io serves Prometheus metrics on its own port, where, and the bearer token a
 * scrape must present. `resolveOptions()` (options.ts) resolves it with the rest.
 *
 * @module
 */
import { expectKnownKeys, expectPlainObject, fail } from "../config-checks.ts";

/** Prometheus metrics (see the README's "Operations"). */
export interface MetricsOptions {
  /** Collect metrics and serve them at `path`. @default false */
  enabled?: boolean;
  /** Where, on strapi-io's own port. @default "/metrics" */
  path?: string;
  /**
   * The bearer token a scrape must send (`Authorization: Bearer <token>`); required when enabled, at least
   * 16 characters. Without it, or with another, a scrape gets 401.
   */
  token?: string;
}

export interface ResolvedMetrics {
  enabled: boolean;
  path: string;
  token: string | undefined;
}

/** The defaults of `metrics` (also part of `DEFAULTS`). */
export const METRICS_DEFAULTS = { enabled: false, path: "/metrics", token: undefined } as const;

const ROUTE_PATH = /^(\/[A-Za-z0-9_\-.]+)+$/;
const MIN_TOKEN_LENGTH = 16;

/** Merges `metrics` with {@link METRICS_DEFAULTS} and validates it. */
export function resolveMetrics(metrics: MetricsOptions): ResolvedMetrics {
  expectPlainObject(metrics, "metrics");
  expectKnownKeys(metrics, Object.keys(METRICS_DEFAULTS), "metrics");
  const enabled = metrics.enabled ?? METRICS_DEFAULTS.enabled;
  if (typeof enabled !== "boolean") fail("metrics.enabled", "a boolean", enabled);
  const path = metrics.path ?? METRICS_DEFAULTS.path;
  if (typeof path !== "string" || !ROUTE_PATH.test(path)) {
    fail("metrics.path", "a path like '/metrics' (no trailing slash)", path);
  }
  const token = metrics.token;
  if (token !== undefined && (typeof token !== "string" || token.length < MIN_TOKEN_LENGTH)) {
    // Never quote a secret: say what it is, not what it says.
    const got = typeof token === "string" ? `${token.length} characters` : typeof token;
    fail("metrics.token", `a string of at least ${MIN_TOKEN_LENGTH} characters`, got);
  }
  if (enabled && token === undefined) {
    fail("metrics.token", "set when 'metrics.enabled' is true (scrapes must authenticate)", token);
  }
  return { enabled, path, token };
}
