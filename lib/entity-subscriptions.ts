/**
 * Entity subscriptions: a socket follows single entities, each through the room `entity:<uid>:<id>`.
 * Requests come from the server (`$io.subscribeToEntity()`) or from the client (`subscribe-entity`,
 * `unsubscribe-entity`, `get-entity-subscriptions`, acknowledged with `{ success, ... }`); both are checked
 * by the access policy against the socket's own identity.
 *
 * @module
 */
import type { AccessPolicy } from "./access-policy.ts";
import { errorMessage, type Logger } from "./logger.ts";
import type { ResolvedIoOptions } from "./options.ts";
import { entityRoom } from "./room-names.ts";
import { findLocalSocket, type NamespaceSet } from "./socket-directory.ts";
import type { EntitySubscription, EntitySubscriptionResult, EntitySubscriptionsResult, IoSocket } from "./types.ts";
import { expectName, isContentTypeUid, isEntityId } from "./validate.ts";

/** What is stored per followed entity: the public triple, plus the id as the client asked for it. */
interface StoredSubscription extends EntitySubscription {
  requestedId: string;
}

/** The entity-subscription half of `$io`. */
export class EntitySubscriptions {
  readonly #namespaces: NamespaceSet;
  readonly #options: ResolvedIoOptions["entitySubscriptions"];
  readonly #policy: AccessPolicy;
  readonly #logger: Logger;

  constructor(namespaces: NamespaceSet, options: ResolvedIoOptions["entitySubscriptions"], policy: AccessPolicy, logger: Logger) {
    this.#namespaces = namespaces;
    this.#options = options;
    this.#policy = policy;
    this.#logger = logger;
  }

  /** Makes a socket follow an entity after the policy allows it. Never throws: failures come back as `{ success: false, error }`. */
  async subscribe(socketId: string, uid: string, id: string | number): Promise<EntitySubscriptionResult> {
    const socket = findLocalSocket(this.#namespaces, socketId);
    if (!socket) return failure(`Socket '${String(socketId)}' not found`);
    return this.#subscribe(socket, uid, id);
  }

  /** Stops a socket following an entity. Unsubscribing from an entity it does not follow fails with a reason. */
  unsubscribe(socketId: string, uid: string, id: string | number): EntitySubscriptionResult {
    const socket = findLocalSocket(this.#namespaces, socketId);
    if (!socket) return failure(`Socket '${String(socketId)}' not found`);
    return this.#unsubscribe(socket, uid, id);
  }

  /** The entities a socket follows. */
  list(socketId: string): EntitySubscriptionsResult {
    const socket = findLocalSocket(this.#namespaces, socketId);
    if (!socket) return { success: false, error: `Socket '${String(socketId)}' not found` };
    return { success: true, subscriptions: stored(socket).map(({ uid, id, room }) => ({ uid, id, room })) };
  }

  /** Sends `event` to every socket following the entity, in every served namespace. */
  emit(uid: string, id: string | number, event: string, data: unknown): void {
    expectName(uid, "emitToEntity()", "uid");
    if (!isEntityId(id)) throw new TypeError(`emitToEntity(): 'id' must be a non-empty string or a positive integer, got ${String(id)}`);
    expectName(event, "emitToEntity()", "event");
    const send = (canonicalId: string) => {
      const room = entityRoom(uid, canonicalId);
      for (const namespace of this.#namespaces.all) namespace.to(room).emit(event, data);
    };
    if (typeof id === "number" && this.#policy.resolveEntityId) {
      this.#policy.resolveEntityId(uid, id).then(
        (canonicalId) => canonicalId !== null && send(canonicalId),
        (error) => this.#logger.error(`emitToEntity(): could not resolve ${uid} id ${id}: ${errorMessage(error)}`),
      );
      return;
    }
    send(String(id));
  }

  /** The sockets following the entity, with their user. */
  async roomSockets(uid: string, id: string | number): Promise<Array<{ id: string; user: Record<string, unknown> | null }>> {
    expectName(uid, "getEntityRoomSockets()", "uid");
    if (!isEntityId(id)) throw new TypeError(`getEntityRoomSockets(): 'id' must be a non-empty string or a positive integer, got ${String(id)}`);
    const canonicalId = typeof id === "number" && this.#policy.resolveEntityId ? await this.#policy.resolveEntityId(uid, id) : String(id);
    if (canonicalId === null) return [];
    const room = entityRoom(uid, canonicalId);
    const perNamespace = await Promise.all(this.#namespaces.all.map((namespace) => namespace.in(room).fetchSockets()));
    return perNamespace.flat().map((socket) => ({ id: socket.id, user: socket.data.user ?? null }));
  }

  /** Registers the client events on a newly connected socket. */
  attach(socket: IoSocket): void {
    socket.on("subscribe-entity", (request, ack) => {
      if (!expectAck(ack, socket, "subscribe-entity", this.#logger)) return;
      const { uid, id } = (request ?? {}) as { uid?: unknown; id?: unknown };
      this.#subscribe(socket, uid, id).then(ack, (error) => ack(failure(`Subscription failed: ${errorMessage(error)}`)));
    });
    socket.on("unsubscribe-entity", (request, ack) => {
      if (!expectAck(ack, socket, "unsubscribe-entity", this.#logger)) return;
      const { uid, id } = (request ?? {}) as { uid?: unknown; id?: unknown };
      ack(this.#unsubscribe(socket, uid, id));
    });
    socket.on("get-entity-subscriptions", (...args: unknown[]) => {
      const ack = args.find((arg) => typeof arg === "function");
      if (!expectAck(ack, socket, "get-entity-subscriptions", this.#logger)) return;
      ack(this.list(socket.id));
    });
  }

  async #subscribe(socket: IoSocket, uid: unknown, id: unknown): Promise<EntitySubscriptionResult> {
    const invalid = this.#checkRequest(uid, id);
    if (invalid) return invalid;
    const requestedId = String(id);
    const current = stored(socket);
    const existing = current.find((entry) => entry.uid === uid && (entry.id === requestedId || entry.requestedId === requestedId));
    if (existing) return success(existing);
    if (current.length >= this.#options.maxPerSocket) {
      return failure(`Subscription limit reached: at most ${this.#options.maxPerSocket} entities per socket`, uid as string, requestedId);
    }
    const decision = await this.#policy.authorizeEntity(socket.data, uid as string, id as string | number);
    if (!decision.allowed) return failure(decision.error, uid as string, requestedId);
    if (!socket.connected) return failure("Socket disconnected during the subscription", uid as string, requestedId);
    // Re-read: another request for the same entity may have completed while the policy was deciding.
    const again = stored(socket).find((entry) => entry.uid === uid && entry.id === decision.id);
    if (again) return success(again);
    if (stored(socket).length >= this.#options.maxPerSocket) {
      return failure(`Subscription limit reached: at most ${this.#options.maxPerSocket} entities per socket`, uid as string, requestedId);
    }
    const entry: StoredSubscription = { uid: uid as string, id: decision.id, room: entityRoom(uid as string, decision.id), requestedId };
    socket.data.entitySubscriptions = [...stored(socket), entry];
    await socket.join(entry.room);
    return success(entry);
  }

  #unsubscribe(socket: IoSocket, uid: unknown, id: unknown): EntitySubscriptionResult {
    const invalid = this.#checkShape(uid, id);
    if (invalid) return invalid;
    const requestedId = String(id);
    const current = stored(socket);
    const entry = current.find((candidate) => candidate.uid === uid && (candidate.id === requestedId || candidate.requestedId === requestedId));
    if (!entry) return failure(`Not subscribed to ${String(uid)} ${requestedId}`, uid as string, requestedId);
    socket.data.entitySubscriptions = current.filter((candidate) => candidate !== entry);
    void socket.leave(entry.room);
    return success(entry);
  }

  #checkRequest(uid: unknown, id: unknown): EntitySubscriptionResult | undefined {
    if (!this.#options.enabled) return failure("Entity subscriptions are disabled");
    const invalid = this.#checkShape(uid, id);
    if (invalid) return invalid;
    const allowed = this.#options.allowedContentTypes;
    if (allowed !== null && !allowed.includes(uid as string)) {
      return failure(`Content type '${String(uid)}' does not allow entity subscriptions`, uid as string, String(id));
    }
    return undefined;
  }

  #checkShape(uid: unknown, id: unknown): EntitySubscriptionResult | undefined {
    if (!isContentTypeUid(uid)) return failure(`'uid' must be a content-type uid like 'api::article.article', got ${JSON.stringify(uid) ?? "nothing"}`);
    if (!isEntityId(id)) return failure(`'id' must be a documentId or a positive integer id, got ${JSON.stringify(id) ?? "nothing"}`, uid);
    return undefined;
  }
}

function stored(socket: IoSocket): StoredSubscription[] {
  return (socket.data.entitySubscriptions ?? []) as StoredSubscription[];
}

function success(entry: EntitySubscription): EntitySubscriptionResult {
  return { success: true, room: entry.room, uid: entry.uid, id: entry.id };
}

function failure(error: string, uid?: string, id?: string): EntitySubscriptionResult {
  const result: EntitySubscriptionResult = { success: false, error };
  if (uid !== undefined) result.uid = uid;
  if (id !== undefined) result.id = id;
  return result;
}

/** Client events without an acknowledgement cannot be answered: logged at debug level and ignored. */
function expectAck(ack: unknown, socket: IoSocket, event: string, logger: Logger): ack is (result: unknown) => void {
  if (typeof ack === "function") return true;
  logger.debug(`socket ${socket.id} sent '${event}' without an acknowledgement callback; ignored`);
  return false;
}
