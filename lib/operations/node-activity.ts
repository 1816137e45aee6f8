/**
 * What one node did, counted always (not only with Prometheus on) for `$io.overview()` and the admin page:
 * client events in, deliveries out, content events by type, recoveries by outcome. Plain integers bumped
 * at the points the metrics already hook, and rates computed when read, from samples taken when read: no
 * timer, nothing per socket.
 *
 * @module
 */
import type { EmitMethod, Metrics, RecoveryOutcome } from "../metrics/metrics.ts";
import type { Throughput } from "./operations-types.ts";

/** Content types counted one by one; past this many, changes of new types are counted under `other`. */
const MAX_CONTENT_TYPES = 100;
/** Rates are averaged over about this long (or since start, before it has passed). */
const RATE_WINDOW_MS = 10_000;
/** Samples older than this are dropped; at most one sample is taken per second. */
const SAMPLES_KEPT_MS = 60_000;
const SAMPLE_SPACING_MS = 1_000;

/** What {@link NodeActivity.read} reports. */
export interface ActivityReading {
  eventsIn: Throughput;
  eventsOut: Throughput;
  /** Content events sent with `emit()`, by content type, busiest first. */
  contentTypes: Array<{ uid: string; events: number }>;
  recovery: { recovered: number; notRecovered: number };
  startedAt: string;
}

interface Sample {
  at: number;
  eventsIn: number;
  eventsOut: number;
}

/** The counters of one `$io`; also a {@link Metrics}, so that it is fed where the metrics are. */
export class NodeActivity implements Metrics {
  readonly countsSockets = false;
  readonly #startedAt = Date.now();
  #eventsIn = 0;
  #eventsOut = 0;
  #recovered = 0;
  #notRecovered = 0;
  readonly #contentTypes = new Map<string, number>();
  #samples: Sample[] = [{ at: this.#startedAt, eventsIn: 0, eventsOut: 0 }];

  /** A client sent an event (any: admitted or refused). */
  readonly received = (): void => {
    this.#eventsIn += 1;
  };

  connected(): void {}
  disconnected(): void {}
  refused(): void {}
  emitted(_method: EmitMethod): void {}

  delivered(_namespace: string, recipients: number): void {
    this.#eventsOut += recipients;
  }

  contentEvent(contentType: string): void {
    const known = this.#contentTypes.get(contentType);
    if (known !== undefined) this.#contentTypes.set(contentType, known + 1);
    else if (this.#contentTypes.size < MAX_CONTENT_TYPES) this.#contentTypes.set(contentType, 1);
    else this.#contentTypes.set("other", (this.#contentTypes.get("other") ?? 0) + 1);
  }

  recovery(outcome: RecoveryOutcome): void {
    if (outcome === "recovered") this.#recovered += 1;
    else this.#notRecovered += 1;
  }

  render(): Promise<never> {
    return Promise.reject(new Error("strapi-io: node activity has no exposition format"));
  }

  /** The totals, the rates, and the `top` busiest content types. */
  read(top: number): ActivityReading {
    const now = Date.now();
    const since = this.#sample(now);
    const seconds = Math.max((now - since.at) / 1000, 0.001);
    return {
      eventsIn: {
        total: this.#eventsIn,
        perSecond: roundRate((this.#eventsIn - since.eventsIn) / seconds),
      },
      eventsOut: {
        total: this.#eventsOut,
        perSecond: roundRate((this.#eventsOut - since.eventsOut) / seconds),
      },
      contentTypes: [...this.#contentTypes]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([uid, events]) => ({ uid, events })),
      recovery: { recovered: this.#recovered, notRecovered: this.#notRecovered },
      startedAt: new Date(this.#startedAt).toISOString(),
    };
  }

  /** Records the counters now (at most once a second) and returns the sample to measure rates from. */
  #sample(now: number): Sample {
    const last = this.#samples[this.#samples.length - 1]!;
    if (now - last.at >= SAMPLE_SPACING_MS) {
      this.#samples.push({ at: now, eventsIn: this.#eventsIn, eventsOut: this.#eventsOut });
      const kept = this.#samples.findIndex((sample) => now - sample.at <= SAMPLES_KEPT_MS);
      if (kept > 0) this.#samples = this.#samples.slice(kept);
    }
    // The newest sample at least a window old; before a window has passed, the oldest one.
    let from = this.#samples[0]!;
    for (const sample of this.#samples) {
      if (now - sample.at >= RATE_WINDOW_MS) from = sample;
      else break;
    }
    return from;
  }
}

/** A rate as reported: to the hundredth. */
export function roundRate(value: number): number {
  return Math.round(value * 100) / 100;
}
