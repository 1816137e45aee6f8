/**
 * `recovery`: whether a client that lost its connection gets what it missed when it comes back, for how
 * long, and how many events are kept for it. `resolveOptions()` (options.ts) resolves it with the rest.
 *
 * @module
 */
import { expectKnownKeys, expectPlainObject, fail, integerAtLeast } from "../config-checks.ts";

/** Resumable delivery (see the README's "Reconnects"). */
export interface RecoveryOptions {
  /**
   * Replay to a client that reconnects within `window` everything it missed, in order and exactly once
   * (`socket.recovered === true`), or tell it plainly that it cannot (`socket.recovered === false`).
   * @default true
   */
  enabled?: boolean;
  /** How long after losing its connection a client can still recover, in milliseconds. @default 120000 */
  window?: number;
  /**
   * Events kept for replay on this node, all namespaces together; past it the oldest go first, and a client
   * that missed one of those recovers nothing (`recovered: false`). Bounds the memory with `window`.
   * @default 10000
   */
  maxEvents?: number;
}

/** `recovery` with every default applied. */
export type ResolvedRecovery = Required<RecoveryOptions>;

/** The defaults of `recovery` (also part of `DEFAULTS`). */
export const RECOVERY_DEFAULTS = { enabled: true, window: 120_000, maxEvents: 10_000 } as const;

/** Merges `recovery` with {@link RECOVERY_DEFAULTS} and validates it (`TypeError` naming the key and the value). */
export function resolveRecovery(recovery: RecoveryOptions): ResolvedRecovery {
  expectPlainObject(recovery, "recovery");
  expectKnownKeys(recovery, Object.keys(RECOVERY_DEFAULTS), "recovery");
  const enabled = recovery.enabled ?? RECOVERY_DEFAULTS.enabled;
  if (typeof enabled !== "boolean") fail("recovery.enabled", "a boolean", enabled);
  return {
    enabled,
    window: integerAtLeast(
      recovery.window ?? RECOVERY_DEFAULTS.window,
      1,
      "recovery.window",
      "a positive integer number of milliseconds",
    ),
    maxEvents: integerAtLeast(
      recovery.maxEvents ?? RECOVERY_DEFAULTS.maxEvents,
      1,
      "recovery.maxEvents",
      "a positive integer",
    ),
  };
}
