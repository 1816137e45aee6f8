/**
 * Entity subscriptions: a socket follows single entities, each through the room `entity:<uid>:<id>`.
 * Requests come from the server (`$io.subscribeToEntity()`) or from the client (`subscribe-entity`,
 * `unsubscribe-entity`, `get-entity-subscriptions`, acknowledged with `{ success, ... }`); both are checked
 * by the access policy against the socket's own identity.
 *
 * In a cluster, a request for a socket connected to another node runs on that node (its policy, its copy
 * of the socket's identity), as a command over Redis. `subscribeToEntity()` waits for that node's answer.
 * `unsubscribeFromEntity()` and `getEntitySubscriptions()` are synchronous: they answer from the cluster
 * directory's copy of the socket's subscriptions (what its node last announced), and the unsubscribe is
 * sent to that node (`success: true` = it followed the entity and the request was sent).
 *
 * @module
 */
import type { AccessPolicy } from "./access-policy.ts";
import { type ClientGuard, refusal } from "./client-guard.ts";
import { describe } from "./config-checks.ts";
import { errorMessage, type Logger } from "./logger.ts";
import type { ResolvedIoOptions } from "./options.ts";
import { entityRoom } from "./room-names.ts";
import { fetchEverywhere } from "./rooms.ts";
import {
  type ClusterCommand,
  findLocalSocket,
  locateSocket,
  type NamespaceSet,
  type RemoteSocketRef,
  type StoredSubscription,
} from "./namespace-set.ts";
import type {
  EntitySubscription,
  EntitySubscriptionResult,
  EntitySubscriptionsResult,
  IoSocket,
} from "./types.ts";
import {
  ENTITY_ID_EXPECTED,
  expectEntityId,
  expectName,
  isContentTypeUid,
  isEntityId,
} from "./validate.ts";

/** The entity-subscription half of `$io`. */
export class EntitySubscriptions {
  readonly #namespaces: NamespaceSet;
  readonly #options: ResolvedIoOptions["entitySubscriptions"];
  readonly #policy: AccessPolicy;
  readonly #logger: Logger;

  constructor(
    namespaces: NamespaceSet,
    options: ResolvedIoOptions["entitySubscriptions"],
    policy: AccessPolicy,
    logger: Logger,
    guard: ClientGuard,
  ) {
    this.#namespaces = namespaces;
    this.#options = options;
    this.#policy = policy;
    this.#logger = logger;
    // Answered by the guard for every socket of every namespace: a connection holds no listener of its
    // own for them. The guard answers whatever they throw.
    const reply = { reply: true };
    guard.route(
      "subscribe-entity",
      guard.handler("subscribe-entity", (socket, [request]) => {
        const target = parseEntityRequest(request);
        return "success" in target ? target : this.#subscribe(socket, target);
      }, reply),
    );
    guard.route(
      "unsubscribe-entity",
      guard.handler("unsubscribe-entity", (socket, [request]) => {
        const target = parseEntityRequest(request);
        return "success" in target ? target : this.#unsubscribe(socket, target);
      }, reply),
    );
    guard.route(
      "get-entity-subscriptions",
      guard.handler("get-entity-subscriptions", (socket) => this.list(socket.id), reply),
    );
  }

  /** Makes a socket follow an entity after the policy allows it. Never throws: failures come back as `{ success: false, error }`. */
  async subscribe(
    socketId: string,
    uid: string,
    id: string | number,
  ): Promise<EntitySubscriptionResult> {
    const where = locateSocket(this.#namespaces, socketId);
    if (!where) return failure(`Socket '${String(socketId)}' not found`);
    const target = parseTarget(uid, id);
    if ("success" in target) return target;
    if (where.local) return this.#subscribe(where.local, target);
    const refused = this.#refusal(target); // also checked there; saves a round trip
    if (refused) return refused;
    const answer = await this.#namespaces.cluster!.ask(where.remote, {
      op: "subscribe",
      socketId,
      uid,
      id,
    });
    if (!answer.answered) {
      return failure(
        `Cannot reach the node of socket '${socketId}': ${answer.reason}`,
        uid,
        String(id),
      );
    }
    const value = answer.value as {
      result?: EntitySubscriptionResult;
      subscriptions?: StoredSubscription[];
    } | undefined;
    if (!value?.result) {
      return failure(
        `The node of socket '${socketId}' could not run the subscription`,
        uid,
        String(id),
      );
    }
    // Its node announces the change to every directory; until that arrives, answer from its reply.
    if (Array.isArray(value.subscriptions)) where.remote.subscriptions = value.subscriptions;
    return value.result;
  }

  /** Stops a socket following an entity. Unsubscribing from an entity it does not follow fails with a reason. */
  unsubscribe(socketId: string, uid: string, id: string | number): EntitySubscriptionResult {
    const where = locateSocket(this.#namespaces, socketId);
    if (!where) return failure(`Socket '${String(socketId)}' not found`);
    const target = parseTarget(uid, id);
    if ("success" in target) return target;
    return where.local
      ? this.#unsubscribe(where.local, target)
      : this.#unsubscribeRemote(where.remote, target);
  }

  /** The entities a socket follows. */
  list(socketId: string): EntitySubscriptionsResult {
    const where = locateSocket(this.#namespaces, socketId);
    if (!where) return { success: false, error: `Socket '${String(socketId)}' not found` };
    const current = where.local ? stored(where.local) : where.remote.subscriptions;
    return {
      success: true,
      subscriptions: current.map(({ uid, id, room }) => ({ uid, id, room })),
    };
  }

  /** Runs a command another node sent for a socket connected here (never forwarded again). */
  async runCommand(
    command: Extract<ClusterCommand, { op: "subscribe" | "unsubscribe" }>,
  ): Promise<unknown> {
    const socket = findLocalSocket(this.#namespaces, command.socketId);
    // Checked again here: a command from another node is input like any other.
    const target = parseTarget(command.uid, command.id);
    if (command.op === "unsubscribe") {
      return socket && !("success" in target) ? this.#unsubscribe(socket, target) : undefined;
    }
    const result = !socket
      ? failure(`Socket '${command.socketId}' not found`)
      : "success" in target
      ? target
      : await this.#subscribe(socket, target);
    return { result, subscriptions: socket ? stored(socket) : [] };
  }

  /** Sends `event` to every socket following the entity, in every served namespace. */
  emit(uid: string, id: string | number, event: string, data: unknown): void {
    expectName(uid, "emitToEntity()", "uid");
    expectEntityId(id, "emitToEntity()");
    expectName(event, "emitToEntity()", "event");
    const send = (canonicalId: string) => {
      const room = entityRoom(uid, canonicalId);
      for (const namespace of this.#namespaces.all) namespace.to(room).emit(event, data);
    };
    if (typeof id === "number" && this.#policy.resolveEntityId) {
      // Nobody awaits this: a failed lookup, or a send refused once the id is known (a message over
      // `transport.maxMessageSize`), is logged rather than left as an unhandled rejection.
      this.#policy.resolveEntityId(uid, id)
        .then((canonicalId) => canonicalId !== null && send(canonicalId))
        .catch((error) =>
          this.#logger.error(
            `emitToEntity(): could not send to ${uid} id ${id}: ${errorMessage(error)}`,
          )
        );
      return;
    }
    send(String(id));
  }

  /** The sockets following the entity, with their user. */
  async roomSockets(
    uid: string,
    id: string | number,
  ): Promise<Array<{ id: string; user: Record<string, unknown> | null }>> {
    expectName(uid, "getEntityRoomSockets()", "uid");
    expectEntityId(id, "getEntityRoomSockets()");
    const canonicalId = typeof id === "number" && this.#policy.resolveEntityId
      ? await this.#policy.resolveEntityId(uid, id)
      : String(id);
    if (canonicalId === null) return [];
    const room = entityRoom(uid, canonicalId);
    const sockets = await fetchEverywhere(this.#namespaces, room, "getEntityRoomSockets()");
    return sockets.map((socket) => ({ id: socket.id, user: socket.data.user ?? null }));
  }

  /** Entity subscriptions held by the sockets connected here. */
  count(): number {
    let count = 0;
    for (const namespace of this.#namespaces.all) {
      for (const socket of namespace.sockets.values()) count += stored(socket).length;
    }
    return count;
  }

  async #subscribe(socket: IoSocket, target: EntityTarget): Promise<EntitySubscriptionResult> {
    const refused = this.#refusal(target);
    if (refused) return refused;
    const { uid, id, requestedId } = target;
    const current = stored(socket);
    const existing = findEntry(current, target);
    if (existing) return success(existing);
    if (current.length >= this.#options.maxPerSocket) return this.#limitReached(target);
    const decision = await this.#policy.authorizeEntity(socket.data, uid, id);
    if (!decision.allowed) return failure(decision.error, uid, requestedId);
    if (!socket.connected) {
      return failure("Socket disconnected during the subscription", uid, requestedId);
    }
    // Re-read: another request for the same entity may have completed while the policy was deciding.
    const again = stored(socket).find((entry) => entry.uid === uid && entry.id === decision.id);
    if (again) return success(again);
    if (stored(socket).length >= this.#options.maxPerSocket) return this.#limitReached(target);
    const entry: StoredSubscription = {
      uid,
      id: decision.id,
      room: entityRoom(uid, decision.id),
      requestedId,
    };
    socket.data.entitySubscriptions = [...stored(socket), entry];
    this.#namespaces.cluster?.subscriptionsChanged(socket);
    await socket.join(entry.room);
    return success(entry);
  }

  #limitReached({ uid, requestedId }: EntityTarget): EntitySubscriptionResult {
    return failure(
      `Subscription limit reached: at most ${this.#options.maxPerSocket} entities per socket`,
      uid,
      requestedId,
    );
  }

  #unsubscribe(socket: IoSocket, target: EntityTarget): EntitySubscriptionResult {
    const current = stored(socket);
    const entry = findEntry(current, target);
    if (!entry) return notSubscribed(target);
    socket.data.entitySubscriptions = current.filter((candidate) => candidate !== entry);
    this.#namespaces.cluster?.subscriptionsChanged(socket);
    void socket.leave(entry.room);
    return success(entry);
  }

  #unsubscribeRemote(remote: RemoteSocketRef, target: EntityTarget): EntitySubscriptionResult {
    const entry = findEntry(remote.subscriptions, target);
    if (!entry) return notSubscribed(target);
    if (
      !this.#namespaces.cluster!.tell(remote, {
        op: "unsubscribe",
        socketId: remote.id,
        uid: target.uid,
        id: target.id,
      })
    ) {
      return failure(
        `Cannot reach the node of socket '${remote.id}': Redis is unreachable`,
        target.uid,
        target.requestedId,
      );
    }
    remote.subscriptions = remote.subscriptions.filter((candidate) => candidate !== entry);
    return success(entry);
  }

  /** Why this node's settings refuse a subscription to `target`, if they do. */
  #refusal({ uid, requestedId }: EntityTarget): EntitySubscriptionResult | undefined {
    if (!this.#options.enabled) return failure("Entity subscriptions are disabled");
    const allowed = this.#options.allowedContentTypes;
    if (allowed !== null && !allowed.includes(uid)) {
      return failure(`Content type '${uid}' does not allow entity subscriptions`, uid, requestedId);
    }
    return undefined;
  }
}

/** A checked `(uid, id)`: what every request is parsed into once, before anything else reads it. */
interface EntityTarget {
  uid: string;
  id: string | number;
  /** `id` as a string, as it was asked for (a numeric id is resolved to a documentId later). */
  requestedId: string;
}

/** `(uid, id)` checked for shape; a failure result naming the first bad argument otherwise. */
function parseTarget(uid: unknown, id: unknown): EntityTarget | EntitySubscriptionResult {
  if (!isContentTypeUid(uid)) {
    return failure(
      `'uid' must be a content-type uid like 'api::article.article', got ${describe(uid)}`,
    );
  }
  if (!isEntityId(id)) {
    return failure(`'id' must be ${ENTITY_ID_EXPECTED}, got ${describe(id)}`, uid);
  }
  return { uid, id, requestedId: String(id) };
}

function notSubscribed({ uid, requestedId }: EntityTarget): EntitySubscriptionResult {
  return failure(`Not subscribed to ${uid} ${requestedId}`, uid, requestedId);
}

/** The subscription to the target's uid by its canonical id or by the id it was asked for. */
function findEntry(
  subscriptions: readonly StoredSubscription[],
  { uid, requestedId }: EntityTarget,
): StoredSubscription | undefined {
  return subscriptions.find((candidate) =>
    candidate.uid === uid && (candidate.id === requestedId || candidate.requestedId === requestedId)
  );
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

/**
 * A client's `{ uid, id }` request, checked for shape before anything reads further into it: a value is
 * only ever looked at one level deep, so a hostile payload (deeply nested, huge) costs nothing here.
 * A malformed one is answered `code: "invalid_request"`.
 */
function parseEntityRequest(request: unknown): EntityTarget | EntitySubscriptionResult {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return refusal("invalid_request", `Expected a request { uid, id }, got ${describe(request)}`);
  }
  const { uid, id } = request as { uid?: unknown; id?: unknown };
  const target = parseTarget(uid, id);
  return "success" in target ? { ...target, code: "invalid_request" } : target;
}
