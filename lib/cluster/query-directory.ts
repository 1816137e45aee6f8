/**
 * The filtered subscriptions' part of the cluster directory: which distinct queries every other node
 * matches changes against, so that the node that writes a change matches it once for the whole cluster
 * (see `LiveQueries`), and the two messages that go with it, on `/`'s inter-server events:
 * - `strapi-io:query`: a node shares a new query and waits until every node has it (acknowledged), before
 *   its socket's subscription is acknowledged;
 * - `strapi-io:matches`: the node that wrote a change sends what it matched to the others, which deliver
 *   to their own sockets.
 * A node's whole set also travels in its directory announcements (after a query is dropped, and in
 * every snapshot), which replaces what the others knew: what a lost message left out is repaired then.
 *
 * @module
 */
import { errorMessage, type Logger } from "../logger.ts";
import type { LiveQueryLink } from "../namespace-set.ts";
import type { IoNamespace, LiveQuery } from "../types.ts";
import { askNodes } from "./ask-nodes.ts";

const QUERY_EVENT = "strapi-io:query";
const MATCHES_EVENT = "strapi-io:matches";

/** A distinct filtered query, as announced. */
export type QueryEntry = [id: string, query: LiveQuery];

/** The other nodes' queries, by node. */
export class QueryDirectory {
  readonly #nodeId: string;
  readonly #requestsTimeout: number;
  readonly #logger: Logger;
  readonly #byNode = new Map<string, Map<string, LiveQuery>>();

  constructor(nodeId: string, requestsTimeout: number, logger: Logger) {
    this.#nodeId = nodeId;
    this.#requestsTimeout = requestsTimeout;
    this.#logger = logger;
  }

  /** Listens for the others' shared queries and matches; `heard(node)` counts as a sign of life. */
  serve(main: IoNamespace, link: LiveQueryLink, heard: (node: string) => void): void {
    main.on(QUERY_EVENT, (message: unknown, ack?: () => void) => {
      const { node, query } = (message ?? {}) as { node?: unknown; query?: unknown };
      if (typeof node === "string" && node !== this.#nodeId && isQueryEntry(query)) {
        heard(node);
        this.#queriesOf(node).set(query[0], query[1]);
      }
      ack?.();
    });
    main.on(MATCHES_EVENT, (message: unknown) => {
      try {
        link.deliverRemote(message);
      } catch (error) {
        this.#logger.error(
          `could not deliver another node's filtered-subscription matches: ${errorMessage(error)}`,
        );
      }
    });
  }

  /** Shares a query with every node; resolves once all have acknowledged (or after the timeout). */
  async share(main: IoNamespace, id: string, query: LiveQuery): Promise<void> {
    const message = { node: this.#nodeId, query: [id, query] };
    await askNodes(main, QUERY_EVENT, message, this.#requestsTimeout);
  }

  /** Sends a change's matches to the other nodes. */
  publish(main: IoNamespace, message: unknown): void {
    main.serverSideEmit(MATCHES_EVENT, message);
  }

  /** A node's whole set, from its announcement. */
  replace(node: string, entries: unknown): void {
    if (!Array.isArray(entries)) throw new TypeError("bad query list");
    this.#byNode.set(node, new Map(entries.filter(isQueryEntry)));
  }

  forget(node: string): void {
    this.#byNode.delete(node);
  }

  /** Every other node's queries, each with the nodes that hold it. */
  all(): Map<string, { query: LiveQuery; nodes: string[] }> {
    const found = new Map<string, { query: LiveQuery; nodes: string[] }>();
    for (const [node, queries] of this.#byNode) {
      for (const [id, query] of queries) {
        const known = found.get(id);
        if (known) known.nodes.push(node);
        else found.set(id, { query, nodes: [node] });
      }
    }
    return found;
  }

  get(node: string, id: string): LiveQuery | undefined {
    return this.#byNode.get(node)?.get(id);
  }

  #queriesOf(node: string): Map<string, LiveQuery> {
    let queries = this.#byNode.get(node);
    if (!queries) {
      queries = new Map();
      this.#byNode.set(node, queries);
    }
    return queries;
  }
}

/** A query entry from another node: checked for shape (it is matched here, as a database count). */
function isQueryEntry(entry: unknown): entry is QueryEntry {
  if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") return false;
  const query = entry[1] as Partial<LiveQuery> | null;
  return typeof query === "object" && query !== null && typeof query.uid === "string" &&
    typeof query.key === "string";
}
