/**
 * What `$io.overview()` and `$io.listConnections()` report (and the admin page shows): aggregates per node,
 * and connections one page at a time. No imports: the admin page (a browser bundle) reads its types here.
 *
 * @module
 */

/** A total and its recent rate (per second, over about the last ten seconds). */
export interface Throughput {
  total: number;
  perSecond: number;
}

/** How many sockets connect as the public role, as a user (a role) and with an API token. */
export interface AudienceCounts {
  public: number;
  role: number;
  token: number;
}

/** One node's totals. */
export interface NodeOverview {
  /** The node's id in a cluster (`adapter.nodeId`), `"local"` on a single node. */
  node: string;
  transport: string;
  connections: number;
  audiences: AudienceCounts;
  /** Client events received, and their rate over about the last ten seconds. */
  eventsIn: Throughput;
  /** Events delivered to sockets of this node (one per recipient), and their rate. */
  eventsOut: Throughput;
  /** Slow consumers disconnected (send backlog over `transport.maxBackpressure`). */
  backpressureDisconnects: number;
  /** With `recovery` on: clients that resumed and that could not, and sessions away now. */
  recovery: { recovered: number; notRecovered: number; sessions: number } | null;
  /** In a cluster, whether this node reaches Redis; `null` on a single node. */
  redis: boolean | null;
  startedAt: string;
}

/** A room and how many sockets are in it (summed over nodes). */
export interface RoomSize {
  namespace: string;
  name: string;
  sockets: number;
}

/** The cluster's (or the single node's) totals. */
export interface IoOverview {
  nodes: NodeOverview[];
  totals: {
    connections: number;
    audiences: AudienceCounts;
    eventsInPerSecond: number;
    eventsOutPerSecond: number;
    backpressureDisconnects: number;
  };
  /** The busiest rooms: the app's, entities' and filtered subscriptions' with two sockets or more (never a socket's own or an audience's). */
  rooms: RoomSize[];
  /** Content events sent with `emit()` since start, by content type, busiest first. */
  contentTypes: Array<{ uid: string; events: number }>;
  /** Nodes that did not answer within `adapter.requestsTimeout` (left out of the totals). */
  missingNodes: number;
}

/** What `$io.listConnections()` takes. */
export interface ConnectionQuery {
  /** Case-insensitive text found in the socket id, the user's id, username or email, the role or the token's name. */
  search?: string;
  /** From 1 (default 1). */
  page?: number;
  /** 1 to 100 (default 20). */
  pageSize?: number;
}

/** One connection, as listed. */
export interface ConnectionRow {
  id: string;
  node: string;
  namespace: string;
  /** The engine's transport: `websocket` or `polling`. */
  transport: string;
  connectedAt: string;
  audience: keyof AudienceCounts;
  user: { id: string | number; username?: string; email?: string } | null;
  role: string | null;
  token: string | null;
  /** The rooms it joined (not its own, not its audience's), at most {@link MAX_LISTED_ROOMS}. */
  rooms: string[];
  roomCount: number;
}

/** One page of connections, paginated like Strapi's REST. */
export interface ConnectionPage {
  data: ConnectionRow[];
  meta: { pagination: { page: number; pageSize: number; pageCount: number; total: number } };
  missingNodes: number;
}

/** The longest reason an admin may give for a disconnect (it is sent to the client and logged). */
export const MAX_DISCONNECT_REASON = 200;

/** Rooms listed per connection. */
export const MAX_LISTED_ROOMS = 20;
/** Rooms and content types in an overview. */
export const TOP_ENTRIES = 10;
