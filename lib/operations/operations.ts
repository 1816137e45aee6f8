/**
 * `$io.overview()` and `$io.listConnections()`: the node's own figures, and in a cluster every node's,
 * asked over Socket.IO's inter-server events on `/` (one request per call, answered by each node from its
 * own sockets). Aggregates are computed where the sockets are; only totals, the busiest rooms and one page
 * of connections ever travel.
 *
 * A page of connections across nodes takes two requests: every node counts its matches, then each node
 * whose range overlaps the page sends that slice (nodes in id order, each in connection order). Sockets
 * that come and go between the two may shift a row; that is the price of never shipping every row.
 *
 * @module
 */
import { describe } from "../config-checks.ts";
import { errorMessage, type Logger } from "../logger.ts";
import type { IoNamespace, IoSocket } from "../types.ts";
import { busiestRooms, countConnections, matchingRows, mergeRooms } from "./local-node.ts";
import { SocketIndex } from "./socket-index.ts";
import { askNodes } from "../cluster/ask-nodes.ts";
import type { MetricSources } from "../metrics/metrics.ts";
import { type NodeActivity, roundRate } from "./node-activity.ts";
import {
  type ConnectionPage,
  type ConnectionQuery,
  type ConnectionRow,
  type IoOverview,
  type NodeOverview,
  type RoomSize,
  TOP_ENTRIES,
} from "./operations-types.ts";

const OPERATIONS_EVENT = "strapi-io:operations";
const MAX_SEARCH_LENGTH = 200;
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 20;

/** What a node is asked. */
type Request =
  | { kind: "overview" }
  | { kind: "count"; search: string }
  | { kind: "rows"; search: string; slices: Record<string, [offset: number, limit: number]> };

/** A node's answer to an overview request. */
interface NodeFigures {
  node: NodeOverview;
  rooms: RoomSize[];
  contentTypes: Array<{ uid: string; events: number }>;
}

/** What the figures are read from. */
export interface OperationsParts {
  namespaces: readonly IoNamespace[];
  activity: NodeActivity;
  /** What the metrics read at scrape time: transport, slow consumers, recovery, Redis, cluster size. */
  readings: MetricSources;
  /** In a cluster: this node's id, the namespace inter-server events use, and `adapter.requestsTimeout`. */
  cluster?: { nodeId: string; main: IoNamespace; requestsTimeout: number };
  logger: Logger;
}

/** The figures of one `$io`, and of its cluster. */
export class Operations {
  readonly #parts: OperationsParts;
  readonly #index = new SocketIndex();

  constructor(parts: OperationsParts) {
    this.#parts = parts;
    parts.cluster?.main.on(
      OPERATIONS_EVENT,
      (request: unknown, ack?: (answer: unknown) => void) => {
        try {
          ack?.(this.#answer(request));
        } catch (error) {
          parts.logger.error(`could not answer another node's overview: ${errorMessage(error)}`);
          ack?.(null);
        }
      },
    );
  }

  /** Starts indexing (call once the adapter stack is installed, before clients connect). */
  watch(): void {
    for (const namespace of this.#parts.namespaces) this.#index.watch(namespace);
  }

  /** A socket connected (the connection handler calls this). */
  connected(socket: IoSocket): void {
    this.#index.connected(socket);
  }

  get #nodeId(): string {
    return this.#parts.cluster?.nodeId ?? "local";
  }

  async overview(): Promise<IoOverview> {
    const { answers, missing } = await this.#ask<NodeFigures>({ kind: "overview" });
    const figures = [this.#figures(), ...answers.filter(isFigures)]
      .sort((a, b) => a.node.node.localeCompare(b.node.node));
    const nodes = figures.map((each) => each.node);
    const sum = (read: (node: NodeOverview) => number) =>
      nodes.reduce((total, node) => total + read(node), 0);
    const typeTotals = new Map<string, number>();
    for (const each of figures) {
      for (const { uid, events } of each.contentTypes) {
        typeTotals.set(uid, (typeTotals.get(uid) ?? 0) + events);
      }
    }
    return {
      nodes,
      totals: {
        connections: sum((node) => node.connections),
        audiences: {
          public: sum((node) => node.audiences.public),
          role: sum((node) => node.audiences.role),
          token: sum((node) => node.audiences.token),
        },
        eventsInPerSecond: roundRate(sum((node) => node.eventsIn.perSecond)),
        eventsOutPerSecond: roundRate(sum((node) => node.eventsOut.perSecond)),
        backpressureDisconnects: sum((node) => node.backpressureDisconnects),
      },
      rooms: mergeRooms(figures.map((each) => each.rooms), TOP_ENTRIES),
      contentTypes: [...typeTotals]
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP_ENTRIES)
        .map(([uid, events]) => ({ uid, events })),
      missingNodes: missing,
    };
  }

  async listConnections(query: ConnectionQuery = {}): Promise<ConnectionPage> {
    const { search, page, pageSize } = checkQuery(query);
    const local = this.#nodeId;
    const counted = await this.#ask<{ node: string; count: number }>({ kind: "count", search });
    const counts = [{ node: local, count: this.#count(search) }, ...counted.answers.filter(isCount)]
      .sort((a, b) => a.node.localeCompare(b.node));
    const total = counts.reduce((sum, { count }) => sum + count, 0);
    // Which slice of each node's matches falls on the page.
    const slices: Record<string, [number, number]> = {};
    let start = (page - 1) * pageSize;
    let wanted = pageSize;
    for (const { node, count } of counts) {
      if (wanted === 0) break;
      if (start >= count) {
        start -= count;
        continue;
      }
      const limit = Math.min(count - start, wanted);
      slices[node] = [start, limit];
      wanted -= limit;
      start = 0;
    }
    const rows = new Map<string, ConnectionRow[]>();
    const own = slices[local];
    if (own) rows.set(local, this.#rows(search, own));
    let missing = counted.missing;
    if (Object.keys(slices).some((node) => node !== local)) {
      const listed = await this.#ask<{ node: string; rows: ConnectionRow[] }>({
        kind: "rows",
        search,
        slices,
      });
      for (const answer of listed.answers) if (isRows(answer)) rows.set(answer.node, answer.rows);
      missing = Math.max(missing, listed.missing);
    }
    return {
      data: counts.flatMap(({ node }) => rows.get(node) ?? []),
      meta: {
        pagination: { page, pageSize, pageCount: Math.ceil(total / pageSize), total },
      },
      missingNodes: missing,
    };
  }

  #answer(request: unknown): unknown {
    if (typeof request !== "object" || request === null) return null;
    const { kind, search, slices } = request as Record<string, unknown>;
    if (kind === "overview") return this.#figures();
    if (typeof search !== "string" || search.length > MAX_SEARCH_LENGTH) return null;
    if (kind === "count") return { node: this.#nodeId, count: this.#count(search) };
    if (kind !== "rows" || typeof slices !== "object" || slices === null) return null;
    const slice = (slices as Record<string, unknown>)[this.#nodeId];
    if (!isSlice(slice)) return null; // not on the page
    return { node: this.#nodeId, rows: this.#rows(search, slice) };
  }

  #figures(): NodeFigures {
    const { namespaces, activity, readings } = this.#parts;
    const reading = activity.read(TOP_ENTRIES);
    const sessions = readings.recovery()?.sessions;
    return {
      node: {
        node: this.#nodeId,
        transport: readings.transport() ?? "starting",
        connections: countConnections(namespaces),
        audiences: this.#index.countAudiences(),
        eventsIn: reading.eventsIn,
        eventsOut: reading.eventsOut,
        backpressureDisconnects: readings.backpressureDisconnects(),
        recovery: sessions === undefined ? null : { ...reading.recovery, sessions },
        redis: readings.cluster ? readings.cluster.connected() : null,
        startedAt: reading.startedAt,
      },
      rooms: busiestRooms(this.#index, TOP_ENTRIES),
      contentTypes: reading.contentTypes,
    };
  }

  #count(search: string): number {
    return this.#index.count(search);
  }

  #rows(search: string, [offset, limit]: [number, number]): ConnectionRow[] {
    return matchingRows(this.#index, search, offset, limit, this.#nodeId);
  }

  /** Asks every other node; resolves with the answers that came within `adapter.requestsTimeout`. */
  async #ask<T>(request: Request): Promise<{ answers: T[]; missing: number }> {
    const cluster = this.#parts.cluster;
    const nodes = this.#parts.readings.cluster?.nodes() ?? 1;
    if (!cluster || nodes <= 1) return { answers: [], missing: 0 };
    const answers = await askNodes(
      cluster.main,
      OPERATIONS_EVENT,
      request,
      cluster.requestsTimeout,
    );
    return {
      answers: answers.filter((answer) => answer != null) as T[],
      missing: Math.max(0, nodes - 1 - answers.length),
    };
  }
}

/** `query` with its defaults, or a TypeError naming what is wrong. */
function checkQuery(query: ConnectionQuery): Required<ConnectionQuery> {
  if (typeof query !== "object" || query === null) {
    throw new TypeError(`listConnections: expected an object, got ${describe(query)}`);
  }
  const { search = "", page = 1, pageSize = DEFAULT_PAGE_SIZE } = query;
  if (typeof search !== "string" || search.length > MAX_SEARCH_LENGTH) {
    throw new TypeError(
      `listConnections: 'search' must be a string of at most ${MAX_SEARCH_LENGTH} characters, got ${
        describe(search)
      }`,
    );
  }
  if (!Number.isSafeInteger(page) || page < 1) {
    throw new TypeError(`listConnections: 'page' must be an integer from 1, got ${describe(page)}`);
  }
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw new TypeError(
      `listConnections: 'pageSize' must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${
        describe(pageSize)
      }`,
    );
  }
  return { search: search.trim().toLowerCase(), page, pageSize };
}

function isFigures(answer: unknown): answer is NodeFigures {
  return typeof answer === "object" && answer !== null && "node" in answer && "rooms" in answer;
}

function isCount(answer: unknown): answer is { node: string; count: number } {
  return typeof (answer as { count?: unknown })?.count === "number" &&
    typeof (answer as { node?: unknown }).node === "string";
}

function isRows(answer: unknown): answer is { node: string; rows: ConnectionRow[] } {
  return Array.isArray((answer as { rows?: unknown })?.rows) &&
    typeof (answer as { node?: unknown }).node === "string";
}

function isSlice(slice: unknown): slice is [number, number] {
  return Array.isArray(slice) && slice.length === 2 &&
    slice.every((n) => Number.isSafeInteger(n) && n >= 0) && slice[1] <= MAX_PAGE_SIZE;
}
