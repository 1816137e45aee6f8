/**
 * Public types of `$io`: the contract of DESIGN.md, and the typed event maps threaded through Socket.IO's
 * generics (`ServerToClientEvents`, `ClientToServerEvents`, `SocketData`).
 *
 * @module
 */
import type { Namespace, Server, Socket } from "socket.io";
import type {
  CommandMessage,
  CommandReply,
  DirectoryMessage,
} from "./cluster/cluster-directory.ts";
import type { ConnectionPage, ConnectionQuery, IoOverview } from "./operations/operations-types.ts";
import type { ResumeAnswer, ResumeRequest } from "./recovery/handoff.ts";
import type { HandoffMessage } from "./recovery/recovery-peers.ts";

/** A Strapi content-type schema, or the part of one that `emit()` needs. */
export interface ContentTypeSchema {
  uid?: string;
  info: { singularName: string; pluralName?: string; displayName?: string };
  [key: string]: unknown;
}

/** Arguments of `$io.emit()`. */
export interface EmitOptions {
  /** Action name; clients receive `<singularName>:<event>`, e.g. `article:create`. */
  event: string;
  /** A content-type uid (`"api::article.article"`) or a schema object. */
  schema: string | ContentTypeSchema;
  /** The document (or, for `delete`, its identifiers). */
  data: unknown;
}

/** Arguments of `$io.raw()`. */
export interface RawEmitOptions {
  /** Event name, sent as given. */
  event: string;
  /** Room or rooms to send to; everyone when absent or empty. */
  rooms?: string | readonly string[];
  /** Sent exactly as given: no checks, no sanitizing, no wrapping. */
  data: unknown;
}

/** A connected socket, as `getSocketsInRoom()` reports it. */
export interface SocketInfo {
  id: string;
  userId?: string | number;
  role?: string;
  /** The socket's rooms, without its own id room and without strapi-io's internal audience rooms. */
  rooms: string[];
}

/** One followed entity. */
export interface EntitySubscription {
  uid: string;
  /** The entity's `documentId` (numeric ids are resolved to it when a resolver is available). */
  id: string;
  room: string;
}

/** Result of `subscribeToEntity()` / `unsubscribeFromEntity()`. */
export interface EntitySubscriptionResult {
  success: boolean;
  room?: string;
  uid?: string;
  id?: string;
  error?: string;
  /** Set when a client's request was refused before it ran (see {@link ClientEventRefusalCode}). */
  code?: ClientEventRefusalCode;
}

/**
 * Why a client event was refused (`code` of {@link ClientEventRefusal}):
 * - `rate_limited`: over `limits.events` (nothing ran);
 * - `too_many_pending`: `limits.events.maxPending` handlers of this socket are still running;
 * - `invalid_event` / `reserved_event` / `unknown_event`: a name that is not a string, that a client may
 *   not send (`error`, `disconnect`, …), or that nobody handles;
 * - `invalid_request`: the payload does not have the documented shape;
 * - `handler_failed`: the handler threw or rejected (`error` is its message).
 */
export type ClientEventRefusalCode =
  | "rate_limited"
  | "too_many_pending"
  | "invalid_event"
  | "reserved_event"
  | "unknown_event"
  | "invalid_request"
  | "handler_failed";

/** The acknowledgement of a refused client event. */
export interface ClientEventRefusal {
  success: false;
  error: string;
  code: ClientEventRefusalCode;
}

/** Result of `getEntitySubscriptions()`. */
export interface EntitySubscriptionsResult {
  success: boolean;
  subscriptions?: EntitySubscription[];
  error?: string;
}

/** Who is behind a socket; set once at the handshake. */
export interface SocketIdentity {
  userId?: string | number;
  /** A user-facing role name or type, e.g. `"public"`, `"authenticated"`, `"api-token:read-only"`. */
  role?: string;
  /** A log-safe summary of the user (never the password or tokens). */
  user?: Record<string, unknown> | null;
  /** The API token's name, when the socket authenticated with one. */
  tokenName?: string;
  /**
   * The internal audience key (a role, an API token): the socket joins its one audience room, and `emit()`
   * addresses audiences by key. One per socket: the uWS fan-out publishes once per audience room, which
   * is only right because no socket is in two of them.
   */
  audience?: string;
  /**
   * Who the socket's connections count against for `limits.connections.maxPerUser` / `maxPerToken`
   * (absent for the public role).
   */
  principal?: { kind: "user" | "token"; id: string | number };
}

/** Per-socket data (`socket.data`). */
export interface SocketData extends SocketIdentity {
  /** Entities this socket follows. */
  entitySubscriptions?: EntitySubscription[];
  /** Filtered subscriptions this socket holds (see {@link LiveQuery}). */
  liveQueries?: Array<{ id: string; query: LiveQuery }>;
}

/** What a client sends with `subscribe`: a content type and a filter in Strapi's REST query syntax. */
export interface LiveQueryRequest {
  uid: string;
  /** Strapi REST `filters`, e.g. `{ category: { id: { $eq: 3 } } }`. */
  filters?: Record<string, unknown>;
  /** Only changes of this locale (all locales when absent). */
  locale?: string;
  /**
   * `"published"` (the default): the published versions, as REST's default; `"draft"`: the draft versions
   * (REST's `status=draft`), on a Draft & Publish type whose draft events are streamed (`drafts: true`).
   */
  status?: "published" | "draft";
  /** REST `fields`: the attributes the subscription's events (and snapshot) carry. */
  fields?: string[];
  /** REST `populate`: the relations they carry (those the socket may read). */
  populate?: string | string[] | Record<string, unknown>;
  /** The matching documents now, in the acknowledgement, before any change (REST `sort`, at most 100). */
  snapshot?: { limit?: number; sort?: string | string[] };
}

/** The matching documents when a subscription started, paginated like a REST list. */
export interface LiveQuerySnapshot {
  data: Array<Record<string, unknown>>;
  meta: { pagination: { page: number; pageSize: number; pageCount: number; total: number } };
}

/** A validated, normalized filtered subscription. */
export interface LiveQuery {
  uid: string;
  filters?: Record<string, unknown>;
  locale?: string;
  fields?: string[];
  populate?: string | string[] | Record<string, unknown>;
  /** Present for draft subscriptions only (published is the default). */
  status?: "draft";
  /** The normalized query as text: equal for equal queries (keys sorted). */
  key: string;
}

/** Result of `subscribe` / `unsubscribe` (and of `$io.subscribe()` / `$io.unsubscribe()`). */
export interface LiveQueryResult {
  success: boolean;
  /** The subscription's id, the same for every socket with the same query. */
  subscription?: string;
  /** With `snapshot` in the request: the matching documents, before any change event of the subscription. */
  snapshot?: LiveQuerySnapshot;
  error?: string;
  code?: ClientEventRefusalCode;
}

/** One filtered subscription, as listed. */
export interface LiveQuerySubscription {
  id: string;
  uid: string;
  filters?: Record<string, unknown>;
  locale?: string;
  status?: "draft";
}

/** Payload of the `strapi-io:disconnect` event sent before `disconnectSocket()` closes a socket. */
export interface DisconnectNotice {
  reason: string;
}

/** Request payload of the client events `subscribe-entity` / `unsubscribe-entity`. */
export interface EntitySubscriptionRequest {
  uid: string;
  id: string | number;
}

/** Events the server sends. Content events are named `<singularName>:<action>` and carry `{ data }`. */
export interface ServerToClientEvents {
  "strapi-io:disconnect": (notice: DisconnectNotice) => void;
  /** A filtered subscription ended: its socket's role or token may no longer hold it. */
  "strapi-io:subscription-ended": (notice: { subscription: string; error: string }) => void;
  // Any other event, with arguments of any type (Socket.IO's own maps are written the same way).
  // deno-lint-ignore no-explicit-any
  [event: string]: (...args: any[]) => void;
}

/** Events a client may send; custom ones come from the plugin's `events` config. */
export interface ClientToServerEvents {
  "subscribe-entity": (
    request: EntitySubscriptionRequest,
    ack: (result: EntitySubscriptionResult) => void,
  ) => void;
  "unsubscribe-entity": (
    request: EntitySubscriptionRequest,
    ack: (result: EntitySubscriptionResult) => void,
  ) => void;
  "get-entity-subscriptions": (ack: (result: EntitySubscriptionsResult) => void) => void;
  /** A filtered subscription (see the README's "Filtered subscriptions"). */
  subscribe: (request: LiveQueryRequest, ack: (result: LiveQueryResult) => void) => void;
  unsubscribe: (
    request: { subscription: string },
    ack: (result: LiveQueryResult) => void,
  ) => void;
  // Any other event, with arguments of any type (Socket.IO's own maps are written the same way).
  // deno-lint-ignore no-explicit-any
  [event: string]: (...args: any[]) => void;
}

/** Events between cluster nodes (through an adapter that supports `serverSideEmit`, such as Redis'). */
export interface InterServerEvents {
  /** Roles, permissions, users or tokens changed on one node: the others refresh their caches too. */
  "strapi-io:access-changed": (changes: string[]) => void;
  /** A node's cluster-directory announcements (see `lib/cluster/cluster-directory.ts`). */
  "strapi-io:directory": (message: DirectoryMessage) => void;
  /** A request for the one node that holds a socket; every node answers (`null` when it is not the one). */
  "strapi-io:command": (message: CommandMessage, ack?: (reply: CommandReply) => void) => void;
  /** Recovery: a node asks for a session it does not hold; the holder answers (see `lib/recovery/handoff.ts`). */
  "strapi-io:resume": (request: ResumeRequest, ack?: (answer: ResumeAnswer | null) => void) => void;
  /** Recovery: a node shutting down gracefully hands its sessions over. */
  "strapi-io:handoff": (message: HandoffMessage, ack?: () => void) => void;
  /** `$io.overview()` and `$io.listConnections()` ask every node for its figures (see `lib/operations/operations.ts`). */
  "strapi-io:operations": (request: unknown, ack?: (answer: unknown) => void) => void;
  // Any other event, with arguments of any type (Socket.IO's own maps are written the same way).
  // deno-lint-ignore no-explicit-any
  [event: string]: (...args: any[]) => void;
}

/** The typed Socket.IO server behind `$io.server`. */
export type IoServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
/** A typed namespace of `$io.namespaces`. */
export type IoNamespace = Namespace<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
/** A typed server-side socket. */
export type IoSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/** The public surface of `strapi.$io` (DESIGN.md, "The public surface"). */
export interface SocketIO {
  /** Delivers `<singularName>:<event>` to every audience allowed to read it, each with its own sanitized copy. */
  emit(options: EmitOptions): Promise<void>;
  /** Sends `data` exactly as given, to `rooms` or to everyone. */
  raw(options: RawEmitOptions): Promise<void>;
  /**
   * Adds a socket to a room; `false` if the socket is not found. In a cluster, for a socket on another
   * node: `true` when the cluster directory knows it and the request was sent to its node (applied there
   * in order with what this node sends next); `false` when no node is known to hold it or Redis is down.
   */
  joinRoom(socketId: string, room: string): boolean;
  /** Removes a socket from a room; `false` if the socket is not found. Across nodes as {@link joinRoom}. */
  leaveRoom(socketId: string, room: string): boolean;
  /** Every socket in the room, across namespaces. */
  getSocketsInRoom(room: string): Promise<SocketInfo[]>;
  /** Sends to that socket only. */
  sendPrivateMessage(socketId: string, event: string, data: unknown): void;
  /** Sends to everyone except that socket. */
  broadcast(socketId: string, event: string, data: unknown): void;
  /** Sends to every socket of a configured namespace. */
  emitToNamespace(namespace: string, event: string, data: unknown): void;
  /**
   * Disconnects a socket; it first receives `strapi-io:disconnect` with the reason. `false` if not found.
   * Across nodes as {@link joinRoom}: `true` means the notice and the disconnect were sent to its node.
   */
  disconnectSocket(socketId: string, reason?: string): boolean;
  /** Makes a socket follow one entity, after checking it exists and the socket may read it. */
  subscribeToEntity(
    socketId: string,
    uid: string,
    id: string | number,
  ): Promise<EntitySubscriptionResult>;
  /**
   * Stops a socket following one entity. For a socket on another node, answers from the cluster
   * directory's copy of its subscriptions and sends the request to its node.
   */
  unsubscribeFromEntity(
    socketId: string,
    uid: string,
    id: string | number,
  ): EntitySubscriptionResult;
  /** The entities a socket follows (for a socket on another node: as its node last announced them). */
  getEntitySubscriptions(socketId: string): EntitySubscriptionsResult;
  /** Sends to the sockets following that entity. */
  emitToEntity(uid: string, id: string | number, event: string, data: unknown): void;
  /** The sockets following that entity, with their user. */
  getEntityRoomSockets(
    uid: string,
    id: string | number,
  ): Promise<Array<{ id: string; user: Record<string, unknown> | null }>>;
  /** Makes a socket follow the documents of `uid` that match `query`, checked for that socket's identity. */
  subscribe(
    socketId: string,
    uid: string,
    query?: Omit<LiveQueryRequest, "uid">,
  ): Promise<LiveQueryResult>;
  /** Stops a socket following a filtered subscription. */
  unsubscribe(socketId: string, subscription: string): LiveQueryResult;
  /** The filtered subscriptions a socket holds. */
  getSubscriptions(
    socketId: string,
  ): { success: boolean; subscriptions?: LiveQuerySubscription[]; error?: string };
  /**
   * Totals of this node and, in a cluster, of every node that answers within `adapter.requestsTimeout`:
   * connections by audience, events in and out per second, slow consumers, recovery, the busiest rooms
   * and content types. Computed where the sockets are; cheap enough to poll every few seconds.
   */
  overview(): Promise<IoOverview>;
  /**
   * One page of the connections (cluster-wide) whose id, user, role or token name contains `search`.
   * A `TypeError` for a bad query (page from 1, pageSize 1 to 100, search up to 200 characters).
   */
  listConnections(query?: ConnectionQuery): Promise<ConnectionPage>;
  /** The Socket.IO server. */
  readonly server: IoServer;
  /** The configured namespaces, by name (without the leading slash). */
  readonly namespaces: Record<string, IoNamespace>;
}
