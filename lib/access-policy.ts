/**
 * The seam between the `$io` core and whoever decides access. The core asks a policy who a connecting
 * socket is, who receives a content event and with what payload, and whether a socket may follow an
 * entity. The Strapi plugin supplies a policy built on roles, API tokens and Strapi's sanitizer; without
 * Strapi, {@link openAccessPolicy} lets everyone read everything.
 *
 * @module
 */
import { entityRoom } from "./room-names.ts";
import type {
  ContentTypeSchema,
  IoSocket,
  LiveQuery,
  LiveQueryRequest,
  LiveQuerySnapshot,
  SocketData,
  SocketIdentity,
} from "./types.ts";
import { isEntityId } from "./validate.ts";

/**
 * One copy of a content event and who receives it: every socket of `/`, or the sockets of `/` that are in
 * at least one of `rooms` and in none of `except`. Rooms are named with `audienceRoom()` / `entityRoom()`.
 * A socket must be reached by at most one delivery of an event (each copy is sanitized for its receiver).
 */
export interface Delivery {
  to: "everyone" | { rooms: readonly string[]; except?: readonly string[] };
  /**
   * In the other served namespaces, which carry no type-wide stream: the followers of the entity the
   * event is about that get this copy (the sockets in `room` and in none of `except`).
   */
  followers?: { room: string; except?: readonly string[] };
  /** What the receivers get, already sanitized for them. */
  payload: unknown;
}

/**
 * Which rooms can have receivers right now. On a single node the core knows (a room with no member here
 * has no member anywhere), so a policy can skip sanitizing for audiences nobody listens to; behind an
 * adapter that reaches other nodes every room counts as reachable.
 */
export interface Reach {
  has(room: string): boolean;
}

/** A policy's answer to "may this socket follow this entity?". */
export type EntityAccessDecision =
  | { allowed: true; /** The entity's canonical id (`documentId` under Strapi). */ id: string }
  | { allowed: false; error: string };

/** Decides who is connecting, who receives what, and who may follow which entity. */
export interface AccessPolicy {
  /**
   * Identifies a connecting socket from its handshake. Throw a {@link HandshakeError} to refuse it: the
   * client's `connect_error` carries the message and `data`.
   */
  identify(socket: IoSocket): Promise<SocketIdentity>;
  /**
   * The receivers of one content event and each one's payload. Throws `TypeError` for an unknown schema.
   */
  deliveries(
    event: string,
    schema: string | ContentTypeSchema,
    data: unknown,
    reach?: Reach,
  ): Promise<Delivery[]>;
  /** Whether a socket with `identity` may follow entity `id` of `uid` (it must exist and be readable). */
  authorizeEntity(
    identity: SocketData,
    uid: string,
    id: string | number,
  ): Promise<EntityAccessDecision>;
  /** Resolves a numeric id to the canonical one, for `emitToEntity()` with a numeric id. */
  resolveEntityId?(uid: string, id: string | number): Promise<string | null>;
  /**
   * Whether a socket with `identity` may hold the filtered subscription `request` (it must be allowed to
   * `find` the type, and the filter must only touch what it may read), normalized; without it, filtered
   * subscriptions are refused. The answer must depend on the identity's audience only: after an access
   * change, strapi-io asks once per audience and query.
   */
  authorizeQuery?(identity: SocketData, request: LiveQueryRequest): Promise<LiveQueryDecision>;
  /** The documents matching `query` now, sanitized for `identity` (a subscription's `snapshot`). */
  snapshot?(
    identity: SocketData,
    query: LiveQuery,
    options: SnapshotOptions,
  ): Promise<LiveQuerySnapshot>;
}

/** What a snapshot reads: how many documents, in which order (REST `sort`). */
export interface SnapshotOptions {
  limit: number;
  sort?: string[];
}

/** A policy's answer to "may this socket hold this filtered subscription?". */
export type LiveQueryDecision =
  | { allowed: true; query: LiveQuery; snapshot?: SnapshotOptions }
  | { allowed: false; error: string };

/** A refused handshake; reaches the client as `connect_error` with `message` and `data`. */
export class HandshakeError extends Error {
  readonly data: { code: string; message: string };
  constructor(code: string, message: string) {
    super(message);
    this.name = "HandshakeError";
    this.data = { code, message };
  }
}

/**
 * The standalone policy: every socket is `public`, every event goes to everyone in `/` (and to the
 * entity's followers in the other namespaces) as `{ data }`, any entity may be followed.
 */
export const openAccessPolicy: AccessPolicy = {
  identify: () => Promise.resolve({ role: "public", user: null }),
  deliveries: (_event, schema, data) => {
    const delivery: Delivery = { to: "everyone", payload: { data } };
    const id = (data as { documentId?: unknown; id?: unknown } | null)?.documentId ??
      (data as { id?: unknown } | null)?.id;
    if (typeof schema === "string" && isEntityId(id)) {
      delivery.followers = { room: entityRoom(schema, String(id)) };
    }
    return Promise.resolve([delivery]);
  },
  authorizeEntity: (_identity, _uid, id) => Promise.resolve({ allowed: true, id: String(id) }),
};
