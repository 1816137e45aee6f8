/**
 * The access policy inside Strapi: who connects (handshake auth), who receives a content event and what
 * each receiver sees (permission sets + Strapi's own content-API output sanitizer), and who may follow an
 * entity. It answers the core's questions through {@link AccessPolicy}; nothing here sends anything.
 *
 * @module
 */
import type { AccessPolicy, Delivery, EntityAccessDecision, Reach } from "../access-policy.ts";
import { describe } from "../config-checks.ts";
import { audienceRoom, entityRoom } from "../room-names.ts";
import { singularNameOf } from "../singular-name.ts";
import type { ContentTypeSchema, IoSocket, SocketData, SocketIdentity } from "../types.ts";
import type { Audiences, AudienceSnapshot, PermissionSet } from "./audiences.ts";
import { type Authenticated, authenticateHandshake } from "./auth.ts";
import type { EmitPermission } from "./plugin-options.ts";
import { authorizeLiveQuery, readSnapshot } from "./live-query-rules.ts";
import { restShape } from "./rest-shape.ts";
import type { StrapiContentType, StrapiLike } from "./strapi-like.ts";

/** Without a reach from the core, every room may have receivers. */
const everywhere: Reach = { has: () => true };

/** The content-API action whose permission `emitPermission: "action"` requires for each event. */
const ACTION_PERMISSION: Record<string, string> = {
  create: "create",
  update: "update",
  delete: "delete",
  publish: "update",
  unpublish: "update",
};

/** Options of {@link createStrapiPolicy}. */
export interface StrapiPolicyOptions {
  emitPermission: EmitPermission;
  /** Called after a socket authenticated (the plugin arms expiry timers here). */
  onAuthenticated?(socket: IoSocket, authenticated: Authenticated): void;
  /** Whether the draft events of a type are sent (its content events' `drafts`): draft subscriptions need them. */
  streamsDrafts?(uid: string): boolean;
}

/** Builds the policy the plugin hands to `createSocketIO()`. */
export function createStrapiPolicy(
  strapi: StrapiLike,
  audiences: Audiences,
  options: StrapiPolicyOptions,
): AccessPolicy {
  /** Per snapshot: the audience rooms outside each permission set (for reaching entity followers). */
  const outsideRooms = new WeakMap<PermissionSet, string[]>();
  const roomsOutside = (snapshot: AudienceSnapshot, set: PermissionSet): string[] => {
    let rooms = outsideRooms.get(set);
    if (!rooms) {
      rooms = [...snapshot.audiences.keys()].filter((key) => !set.audiences.includes(key)).map(
        audienceRoom,
      );
      outsideRooms.set(set, rooms);
    }
    return rooms;
  };

  return {
    authorizeQuery: (identity, request) =>
      authorizeLiveQuery(
        strapi,
        audiences,
        identity,
        request,
        (uid) => options.streamsDrafts?.(uid) === true,
      ),
    snapshot: (identity, query, options) =>
      readSnapshot(strapi, audiences, identity, query, options),

    async identify(socket: IoSocket): Promise<SocketIdentity> {
      const snapshot = await audiences.current();
      const authenticated = await authenticateHandshake(strapi, socket, snapshot.publicKey);
      options.onAuthenticated?.(socket, authenticated);
      const identity: SocketIdentity = {
        role: authenticated.role,
        user: authenticated.user,
        audience: authenticated.audience,
      };
      if (authenticated.userId !== undefined) {
        identity.userId = authenticated.userId;
        identity.principal = { kind: "user", id: authenticated.userId };
      } else if (authenticated.tokenId !== undefined) {
        identity.principal = { kind: "token", id: authenticated.tokenId };
        if (authenticated.tokenName !== undefined) identity.tokenName = authenticated.tokenName;
      }
      return identity;
    },

    async deliveries(
      event: string,
      schema: string | ContentTypeSchema,
      data: unknown,
      reach: Reach = everywhere,
    ): Promise<Delivery[]> {
      const contentType = contentTypeOf(strapi, schema);
      const { uid } = contentType;
      const snapshot = await audiences.current();
      const streamScopes = options.emitPermission === "action" && ACTION_PERMISSION[event]
        ? [`${uid}.${ACTION_PERMISSION[event]}`]
        : [`${uid}.find`, `${uid}.findOne`];
      const documentId = documentIdOf(data);
      const receiversOf = (set: PermissionSet): Omit<Delivery, "payload"> | undefined => {
        // The entity's followers of this set, in the namespaces other than `/` (which carry no type-wide stream).
        const room = documentId !== undefined && set.allows(`${uid}.findOne`)
          ? entityRoom(uid, documentId)
          : undefined;
        const followers = room !== undefined && reach.has(room)
          ? { room, except: roomsOutside(snapshot, set) }
          : undefined;
        if (streamScopes.some((scope) => set.allows(scope))) {
          const rooms = set.audiences.map(audienceRoom).filter((audience) => reach.has(audience));
          if (rooms.length === 0 && !followers) return undefined;
          return followers ? { to: { rooms }, followers } : { to: { rooms } };
        }
        // Outside the type-wide stream, an entity's followers still get its events if they may read it.
        return followers
          ? { to: { rooms: [followers.room], except: followers.except }, followers }
          : undefined;
      };
      // Sanitizing is the costly part: skip it for audiences nobody listens to.
      const listened = snapshot.sets.flatMap((set) => {
        const receivers = receiversOf(set);
        return receivers ? [{ set, receivers }] : [];
      });
      if (listened.length === 0) return [];
      // The sanitizer lets through every key that is not an attribute: cut those off once, for everyone.
      const shaped = restShape(strapi, contentType, data);
      return Promise.all(listened.map(async ({ set, receivers }): Promise<Delivery> => ({
        ...receivers,
        payload: {
          data: await strapi.contentAPI.sanitize.output(shaped, contentType, { auth: set.auth }),
        },
      })));
    },

    async authorizeEntity(
      identity: SocketData,
      uid: string,
      id: string | number,
    ): Promise<EntityAccessDecision> {
      if (!strapi.contentType(uid)) {
        return { allowed: false, error: `Unknown content type '${uid}'` };
      }
      const snapshot = await audiences.current();
      const audience = identity.audience === undefined
        ? undefined
        : snapshot.audiences.get(identity.audience);
      if (!audience || !audience.set.allows(`${uid}.findOne`)) {
        return { allowed: false, error: `Forbidden: this role or token may not read ${uid}` };
      }
      const documentId = await findDocumentId(strapi, uid, id);
      if (documentId === null) return { allowed: false, error: `Not found: ${uid} ${String(id)}` };
      return { allowed: true, id: documentId };
    },

    resolveEntityId: (uid, id) => findDocumentId(strapi, uid, id),
  };
}

/**
 * The content type `emit()`'s `schema` describes: a uid of the app, or a schema object that names one type
 * consistently (its `uid`, with `info.singularName` agreeing when given; or, without a uid, the one type of
 * that singularName). The event is named after the same type (`singularNameOf(schema)` must be its
 * singularName), so that the name and the sanitizing never describe two types.
 *
 * @throws {TypeError} when `schema` names no type of the app, names two, or contradicts itself.
 */
function contentTypeOf(
  strapi: StrapiLike,
  schema: string | ContentTypeSchema,
): StrapiContentType {
  const contentType = describedType(strapi, schema);
  const eventName = singularNameOf(schema);
  if (eventName !== contentType.info.singularName) {
    throw new TypeError(
      `emit(): 'schema' is inconsistent: it names the event ${
        describe(eventName)
      }, but is the content type ${describe(contentType.info.singularName)} (${
        describe(contentType.uid)
      })`,
    );
  }
  return contentType;
}

function describedType(strapi: StrapiLike, schema: string | ContentTypeSchema): StrapiContentType {
  if (typeof schema === "string") {
    const contentType = strapi.contentType(schema);
    if (!contentType) {
      throw new TypeError(
        `emit(): 'schema' must be a content type of this app, got ${describe(schema)}`,
      );
    }
    return contentType;
  }
  if (typeof schema !== "object" || schema === null) {
    throw new TypeError(
      `emit(): 'schema' must be a content-type uid or a schema object, got ${describe(schema)}`,
    );
  }
  const singularName: unknown = (schema.info as ContentTypeSchema["info"] | undefined)
    ?.singularName;
  if (schema.uid !== undefined) {
    const contentType = typeof schema.uid === "string" ? strapi.contentType(schema.uid) : undefined;
    if (!contentType) {
      throw new TypeError(
        `emit(): 'schema' must be a content type of this app, got uid ${describe(schema.uid)}`,
      );
    }
    if (singularName !== undefined && singularName !== contentType.info.singularName) {
      throw new TypeError(
        `emit(): 'schema' is inconsistent: uid ${describe(schema.uid)} is the content type ${
          describe(contentType.info.singularName)
        }, but info.singularName says ${describe(singularName)}`,
      );
    }
    return contentType;
  }
  const matches = (Object.values(strapi.contentTypes) as StrapiContentType[]).filter((candidate) =>
    candidate.info.singularName === singularName
  );
  if (matches.length > 1) {
    // Plugins reuse names (admin::user and plugin::users-permissions.user are both 'user'): never guess.
    const uids = matches.map((match) => describe(match.uid)).join(", ");
    throw new TypeError(
      `emit(): 'schema' is ambiguous: info.singularName ${
        describe(singularName)
      } is the singularName of ${uids}; give its uid`,
    );
  }
  const [match] = matches;
  if (!match) {
    throw new TypeError(
      `emit(): 'schema' must be a content type of this app, got info.singularName ${
        describe(singularName)
      }`,
    );
  }
  return match;
}

/** The documentId of an entry given by documentId or numeric id (any status or locale); `null` when it does not exist. */
async function findDocumentId(
  strapi: StrapiLike,
  uid: string,
  id: string | number,
): Promise<string | null> {
  const where = typeof id === "number" ? { id } : { documentId: id };
  const row = await strapi.db.query(uid).findOne({ where, select: ["documentId"] });
  return typeof row?.documentId === "string" ? row.documentId : null;
}

function documentIdOf(data: unknown): string | undefined {
  const documentId = (data as { documentId?: unknown } | null)?.documentId;
  return typeof documentId === "string" && documentId !== "" ? documentId : undefined;
}
