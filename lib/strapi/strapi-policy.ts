/**
 * The access policy inside Strapi: who connects (handshake auth), who receives a content event and what
 * each receiver sees (permission sets + Strapi's own content-API output sanitizer), and who may follow an
 * entity. It answers the core's questions through {@link AccessPolicy}; nothing here sends anything.
 *
 * @module
 */
import type { AccessPolicy, Delivery, EntityAccessDecision, Reach } from "../access-policy.ts";
import { audienceRoom, entityRoom } from "../room-names.ts";
import type { ContentTypeSchema, IoSocket, SocketData, SocketIdentity } from "../types.ts";
import type { Audiences, AudienceSnapshot, PermissionSet } from "./audiences.ts";
import { authenticateHandshake, type Authenticated } from "./auth.ts";
import type { EmitPermission } from "./plugin-options.ts";
import type { StrapiContentType, StrapiLike } from "./strapi-like.ts";

/** Without a reach from the core, every room may have receivers. */
const everywhere: Reach = { has: () => true };

/** The content-API action whose permission `emitPermission: "action"` requires for each event. */
const ACTION_PERMISSION: Record<string, string> = { create: "create", update: "update", delete: "delete", publish: "update", unpublish: "update" };

/** Options of {@link createStrapiPolicy}. */
export interface StrapiPolicyOptions {
  emitPermission: EmitPermission;
  /** Called after a socket authenticated (the plugin arms expiry timers here). */
  onAuthenticated?(socket: IoSocket, authenticated: Authenticated): void;
}

/** Builds the policy the plugin hands to `createSocketIO()`. */
export function createStrapiPolicy(strapi: StrapiLike, audiences: Audiences, options: StrapiPolicyOptions): AccessPolicy {
  /** Per snapshot: the audience rooms outside each permission set (for reaching entity followers). */
  const outsideRooms = new WeakMap<PermissionSet, string[]>();
  const roomsOutside = (snapshot: AudienceSnapshot, set: PermissionSet): string[] => {
    let rooms = outsideRooms.get(set);
    if (!rooms) {
      rooms = [...snapshot.audiences.keys()].filter((key) => !set.audiences.includes(key)).map(audienceRoom);
      outsideRooms.set(set, rooms);
    }
    return rooms;
  };

  return {
    async identify(socket: IoSocket): Promise<SocketIdentity> {
      const snapshot = await audiences.current();
      const authenticated = await authenticateHandshake(strapi, socket, snapshot.publicKey);
      options.onAuthenticated?.(socket, authenticated);
      const identity: SocketIdentity = { role: authenticated.role, user: authenticated.user, audiences: [authenticated.audience] };
      if (authenticated.userId !== undefined) identity.userId = authenticated.userId;
      return identity;
    },

    async deliveries(event: string, schema: string | ContentTypeSchema, data: unknown, reach: Reach = everywhere): Promise<Delivery[]> {
      const contentType = contentTypeOf(strapi, schema);
      const { uid } = contentType;
      const snapshot = await audiences.current();
      const streamScopes = options.emitPermission === "action" && ACTION_PERMISSION[event]
        ? [`${uid}.${ACTION_PERMISSION[event]}`]
        : [`${uid}.find`, `${uid}.findOne`];
      const documentId = documentIdOf(data);
      const receiversOf = (set: PermissionSet): Delivery["to"] | undefined => {
        if (streamScopes.some((scope) => set.allows(scope))) {
          const rooms = set.audiences.map(audienceRoom).filter((room) => reach.has(room));
          return rooms.length > 0 ? { rooms } : undefined;
        }
        // Outside the type-wide stream, an entity's followers still get its events if they may read it.
        if (documentId === undefined || !set.allows(`${uid}.findOne`)) return undefined;
        const room = entityRoom(uid, documentId);
        return reach.has(room) ? { rooms: [room], except: roomsOutside(snapshot, set) } : undefined;
      };
      const deliveries = await Promise.all(snapshot.sets.map(async (set): Promise<Delivery | undefined> => {
        const to = receiversOf(set);
        // Sanitizing is the costly part: skip it for audiences nobody listens to.
        if (!to) return undefined;
        const payload = { data: await strapi.contentAPI.sanitize.output(data, contentType, { auth: set.auth }) };
        return { to, payload };
      }));
      return deliveries.filter((delivery): delivery is Delivery => delivery !== undefined);
    },

    async authorizeEntity(identity: SocketData, uid: string, id: string | number): Promise<EntityAccessDecision> {
      if (!strapi.contentType(uid)) return { allowed: false, error: `Unknown content type '${uid}'` };
      const snapshot = await audiences.current();
      const audience = identity.audiences?.[0] === undefined ? undefined : snapshot.audiences.get(identity.audiences[0]);
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

/** The content type of a uid or schema object; `TypeError` when the app has no such type. */
export function contentTypeOf(strapi: StrapiLike, schema: string | ContentTypeSchema): StrapiContentType {
  if (typeof schema === "string") {
    const contentType = strapi.contentType(schema);
    if (!contentType) throw new TypeError(`emit(): 'schema' must be a content type of this app, got '${schema}'`);
    return contentType;
  }
  const byUid = typeof schema.uid === "string" ? strapi.contentType(schema.uid) : undefined;
  const match = byUid ?? Object.values(strapi.contentTypes).find((candidate) => candidate.info.singularName === schema.info?.singularName);
  if (!match) throw new TypeError(`emit(): 'schema' must be a content type of this app, got one named '${schema.info?.singularName}'`);
  return match;
}

/** The documentId of an entry given by documentId or numeric id (any status or locale); `null` when it does not exist. */
async function findDocumentId(strapi: StrapiLike, uid: string, id: string | number): Promise<string | null> {
  const where = typeof id === "number" ? { id } : { documentId: id };
  const row = await strapi.db.query(uid).findOne({ where, select: ["documentId"] });
  return typeof row?.documentId === "string" ? row.documentId : null;
}

function documentIdOf(data: unknown): string | undefined {
  const documentId = (data as { documentId?: unknown } | null)?.documentId;
  return typeof documentId === "string" && documentId !== "" ? documentId : undefined;
}
