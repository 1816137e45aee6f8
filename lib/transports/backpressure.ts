/**
 * Slow consumers: the one rule both transports apply to what queues for a client, and the close code and
 * reason a slow client gets.
 *
 * A client is a slow consumer when its send backlog stays over `transport.maxBackpressure` (the soft limit)
 * for longer than `transport.drainTimeout`, or at once when the backlog passes the hard limit
 * (`maxBackpressure + 16 × maxMessageSize`), which bounds the memory one client can hold. The rule judges
 * backlog that a client fails to drain, never the size of what was just sent: a healthy reader that reads a
 * large message or a burst away within `drainTimeout` is never dropped.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import type { Logger } from "../logger.ts";
import type { ResolvedIoOptions } from "../options.ts";

/** WebSocket close code sent to a slow consumer: 1013 "Try Again Later" — reconnect and refetch. */
export const BACKPRESSURE_CLOSE_CODE = 1013;
/** Close reason sent with {@link BACKPRESSURE_CLOSE_CODE}. */
export const BACKPRESSURE_CLOSE_REASON =
  "strapi-io: send backlog over maxBackpressure (slow consumer)";
/** How many of the largest messages fit between the soft and the hard limit. */
const HARD_LIMIT_MESSAGES = 16;

/** The limits of {@link SlowConsumerGuard}, in bytes and milliseconds. */
export interface BacklogLimits {
  /** `transport.maxBackpressure`: a backlog over it must drain within `drainTimeout`. */
  soft: number;
  /** `maxBackpressure + 16 × maxMessageSize`: a backlog over it is disconnected at once. */
  hard: number;
  /** `transport.drainTimeout`. */
  drainTimeout: number;
}

/** The limits that `transport` options set. */
export function backlogLimits(transport: ResolvedIoOptions["transport"]): BacklogLimits {
  const { maxBackpressure, maxMessageSize, drainTimeout } = transport;
  return {
    soft: maxBackpressure,
    hard: maxBackpressure + HARD_LIMIT_MESSAGES * maxMessageSize,
    drainTimeout,
  };
}

/** Counts and logs slow-consumer disconnects; one per transport, shared by its guards. */
export class SlowConsumerLog {
  /** Clients disconnected as slow consumers so far. */
  count = 0;
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Counts one disconnect and logs why at warn level (no client data: sizes and durations only). */
  record(why: string): void {
    this.count += 1;
    this.#logger.warn(`disconnected a slow client: ${why} (total ${this.count})`);
  }
}

/** How a guard reads and ends the connections it watches. */
export interface BacklogProbe<C> {
  /** Bytes queued for `connection` and not yet handed to the network. */
  backlog(connection: C): number;
  /** Disconnects `connection` as a slow consumer (with {@link BACKPRESSURE_CLOSE_CODE} where the wire has close codes). */
  evict(connection: C): void;
}

/**
 * Applies the slow-consumer rule to connections of one kind. It never visits every connection: after a loop
 * turn that sent something it checks the connections sent to (`touch`) and those that still had a backlog at
 * their last check; while any connection is over the soft limit, an unref'd timer checks again when its
 * `drainTimeout` runs out, so a client that stops reading is found even when nothing more is sent to it.
 */
export class SlowConsumerGuard<C extends object> {
  readonly #limits: BacklogLimits;
  readonly #log: SlowConsumerLog;
  readonly #probe: BacklogProbe<C>;
  readonly #beforeCheck: (() => void) | undefined;
  /** Connections sent to since the last check. */
  readonly #touched = new Set<C>();
  /** Connections with a backlog at their last check, and that backlog. */
  readonly #congested = new Map<C, number>();
  /** Connections over the soft limit, and since when; insertion order is time order, so the first is due first. */
  readonly #over = new Map<C, number>();
  readonly #evicted = new WeakSet<C>();
  #scheduled = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerDue = 0;
  #stopped = false;

  /** `beforeCheck` runs at the start of every check, for a transport that must `touch()` connections it could not name when it sent. */
  constructor(
    limits: BacklogLimits,
    log: SlowConsumerLog,
    probe: BacklogProbe<C>,
    beforeCheck?: () => void,
  ) {
    this.#limits = limits;
    this.#log = log;
    this.#probe = probe;
    this.#beforeCheck = beforeCheck;
  }

  /** `connection` was sent something: it is checked after this loop turn. */
  touch(connection: C): void {
    this.#touched.add(connection);
    this.schedule();
  }

  /** Something was sent to connections the caller cannot name: the congested ones are checked after this loop turn. */
  schedule(): void {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(this.#check);
  }

  /** `connection`'s backlog went down: its time over the soft limit ends if it is now at or under it. */
  relieve(connection: C): void {
    if (!this.#over.has(connection)) return;
    const backlog = this.#probe.backlog(connection);
    if (backlog > this.#limits.soft) return;
    this.#over.delete(connection);
    if (backlog === 0) this.#congested.delete(connection);
  }

  /**
   * `connection` has delivered everything it held before now (its transport asked for more): time over the
   * soft limit starts again from now, for what it holds now. A client that keeps draining whole batches is
   * not stuck; one that falls further behind each time reaches the hard limit instead.
   */
  restart(connection: C): void {
    if (!this.#over.delete(connection)) return;
    if (this.#probe.backlog(connection) <= this.#limits.soft) return;
    const now = performance.now();
    this.#over.set(connection, now);
    if (this.#timer === undefined) this.#arm(now);
  }

  /** The backlog `connection` had at its last check (0 when it had none or was never checked). */
  lastBacklog(connection: C): number {
    return this.#congested.get(connection) ?? 0;
  }

  /** Whether the guard disconnected `connection`. */
  evicted(connection: C): boolean {
    return this.#evicted.has(connection);
  }

  /** `connection` closed: the guard lets go of it. */
  forget(connection: C): void {
    this.#touched.delete(connection);
    this.#congested.delete(connection);
    this.#over.delete(connection);
  }

  /** Stops checking and clears the timer. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#touched.clear();
    this.#congested.clear();
    this.#over.clear();
  }

  readonly #check = (): void => {
    if (this.#stopped) return;
    this.#beforeCheck?.();
    this.#scheduled = false;
    const now = performance.now();
    for (const connection of this.#touched) {
      if (!this.#congested.has(connection)) this.#congested.set(connection, 0);
    }
    this.#touched.clear();
    for (const connection of this.#congested.keys()) this.#inspect(connection, now);
    this.#arm(now);
  };

  #inspect(connection: C, now: number): void {
    const backlog = this.#probe.backlog(connection);
    if (backlog === 0) {
      this.#congested.delete(connection);
      this.#over.delete(connection);
      return;
    }
    this.#congested.set(connection, backlog);
    const { soft, hard, drainTimeout } = this.#limits;
    if (backlog > hard) {
      this.#evict(connection, `send backlog ${backlog} B over the hard limit ${hard} B`);
      return;
    }
    if (backlog <= soft) {
      this.#over.delete(connection);
      return;
    }
    let since = this.#over.get(connection);
    if (since === undefined) {
      since = now;
      this.#over.set(connection, now);
    }
    if (now - since >= drainTimeout) {
      this.#evict(
        connection,
        `send backlog ${backlog} B over maxBackpressure ${soft} B for ${
          Math.round(now - since)
        } ms`,
      );
    }
  }

  #evict(connection: C, why: string): void {
    this.forget(connection);
    if (this.#evicted.has(connection)) return;
    this.#evicted.add(connection);
    this.#log.record(why);
    this.#probe.evict(connection);
  }

  /** Keeps one timer, due when the connection over the soft limit the longest runs out of `drainTimeout`. */
  #arm(now: number): void {
    const first = this.#over.values().next();
    if (first.done) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      return;
    }
    const due = first.value + this.#limits.drainTimeout;
    if (this.#timer !== undefined && this.#timerDue <= due) return; // an earlier check re-arms when it runs
    clearTimeout(this.#timer);
    this.#timerDue = due;
    // Timers round; a check that finds the time not quite up simply arms again for the rest.
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(due - now)));
    (this.#timer as { unref?: () => void }).unref?.();
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#check();
  };
}
