/**
 * The events of one node's replay stream, oldest first, kept while a reconnecting client may still need
 * them: at most `maxEvents`, none older than the retention. Besides events it holds breaks: points no
 * replay may cross — what some audience may read changed there (the missed copies were sanitized under
 * rules that no longer hold), or events from other nodes were lost there (a Redis outage).
 *
 * Positions (`seq`) only grow; an entry is never changed once appended (but for its encoded form, cached
 * on first replay). `after(seq)` answers only when nothing after `seq` has been evicted: a client whose
 * last event was evicted long ago, with nothing newer for it, still recovers (the oldest surviving entry is
 * not what it must match), and one that missed an evicted event never gets a partial replay.
 *
 * @module
 */
import type { Room } from "socket.io-adapter";

/** An event as it was delivered, with what decides who received it. */
export interface BufferedEvent {
  readonly kind: "event";
  readonly seq: number;
  /** When it was delivered (ms since the epoch). */
  readonly at: number;
  readonly nsp: string;
  /** Socket.IO packet type (EVENT or BINARY_EVENT). */
  readonly type: number;
  /** The event name and arguments, the offset last: exactly what was sent. */
  readonly data: readonly unknown[];
  /** Target rooms; empty for the whole namespace. */
  readonly rooms: ReadonlySet<Room>;
  readonly except: ReadonlySet<Room> | undefined;
  /**
   * In a cluster, where the broadcast came from: the publishing adapter's id and its count of broadcasts,
   * the same on every node (see `lib/recovery/handoff.ts`). Absent for what was never published.
   */
  readonly origin?: string;
  readonly originSeq?: number;
  /** The packet encoded for the wire, once some socket needed it replayed. */
  encoded?: ReadonlyArray<string | Uint8Array>;
}

/** A point of the stream that no replay may cross. */
export interface StreamBreak {
  readonly kind: "break";
  readonly seq: number;
  readonly at: number;
}

export type BufferEntry = BufferedEvent | StreamBreak;

/** Past this many evicted entries at the front, the array is compacted. */
const COMPACT_AFTER = 1024;

/** A bounded, append-only window of the stream. */
export class ReplayBuffer {
  readonly #maxEntries: number;
  readonly #retention: number;
  #entries: BufferEntry[] = [];
  /** Index of the oldest entry still kept. */
  #head = 0;
  /** The highest position evicted so far (0: none). */
  #evictedThrough = 0;

  /**
   * Keeps at most `maxEntries` entries, none older than `retention` ms; `evictedThrough` is for a copy of
   * another node's buffer, which had evicted up to there.
   */
  constructor(maxEntries: number, retention: number, evictedThrough = 0) {
    this.#maxEntries = maxEntries;
    this.#retention = retention;
    this.#evictedThrough = evictedThrough;
  }

  /** The highest position evicted so far (0: none). */
  get evictedThrough(): number {
    return this.#evictedThrough;
  }

  /** Entries kept. */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** Appends `entry` (its `seq` above every earlier one), evicting what no longer fits. */
  append(entry: BufferEntry): void {
    this.#entries.push(entry);
    this.trim(entry.at);
  }

  /** Evicts entries over the count or older than the retention at `now`. */
  trim(now: number): void {
    const oldest = now - this.#retention;
    while (this.size > 0) {
      const first = this.#entries[this.#head] as BufferEntry;
      if (this.size <= this.#maxEntries && first.at >= oldest) break;
      this.#evictedThrough = first.seq;
      this.#entries[this.#head] = undefined as never; // let it be collected before compaction
      this.#head += 1;
    }
    if (this.#head > COMPACT_AFTER && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * Every entry after position `seq`, oldest first; `undefined` when one of them has been evicted (a
   * replay from `seq` would have a hole).
   */
  after(seq: number): BufferEntry[] | undefined {
    if (seq < this.#evictedThrough) return undefined;
    let low = this.#head;
    let high = this.#entries.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.#entries[middle] as BufferEntry).seq <= seq) low = middle + 1;
      else high = middle;
    }
    return this.#entries.slice(low);
  }

  /** Drops everything (the stream ends with its node). */
  clear(): void {
    this.#entries = [];
    this.#head = 0;
  }
}
