/**
 * An {@link AccessPolicy} with the shape of the Strapi one: audiences grouped into permission sets,
 * each set sanitized once per event (private fields dropped, relations it may not read removed, relation
 * fields narrowed) and delivered to its audience rooms. What it does per event is what the Strapi policy
 * does once its abilities are cached; only the ability lookup is replaced by the scenario's field lists.
 *
 * @module
 */
import type { AccessPolicy, Delivery } from "../lib/access-policy.ts";
import { audienceRoom } from "../lib/room-names.ts";
import type { IoSocket, SocketIdentity } from "../lib/types.ts";
import { PERMISSION_SETS, type PermissionSet } from "./scenario.ts";

interface CompiledSet {
  rooms: readonly string[];
  fields: readonly string[];
  author: readonly string[] | null;
}

/** Copies the attributes `set` may read, and of the author relation only the fields it may read. */
export function sanitize(
  data: Record<string, unknown>,
  set: Pick<PermissionSet, "fields" | "author">,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of set.fields) {
    const value = data[field];
    if (value === undefined) continue;
    if (field === "author") {
      if (set.author === null || value === null || typeof value !== "object") continue;
      const relation: Record<string, unknown> = {};
      for (const key of set.author) relation[key] = (value as Record<string, unknown>)[key];
      out[field] = relation;
    } else {
      out[field] = value;
    }
  }
  return out;
}

/** The bench policy over `sets` (default: the scenario's eight audiences in three sets). */
export function createBenchPolicy(sets: readonly PermissionSet[] = PERMISSION_SETS): AccessPolicy {
  // Done once, as the Strapi policy does with its cached abilities: room names and field lists.
  const compiled: CompiledSet[] = sets.map((set) => ({
    rooms: set.audiences.map(audienceRoom),
    fields: set.fields,
    author: set.author,
  }));
  const known = new Set(sets.flatMap((set) => set.audiences));
  return {
    identify(socket: IoSocket): Promise<SocketIdentity> {
      const audience = socket.handshake.query["aud"];
      const key = typeof audience === "string" && known.has(audience) ? audience : "role:public";
      return Promise.resolve({ role: key, user: null, audience: key });
    },
    deliveries(_event, _schema, data): Promise<Delivery[]> {
      const document = data as Record<string, unknown>;
      return Promise.resolve(
        compiled.map((set) => ({
          to: { rooms: set.rooms },
          payload: { data: sanitize(document, set) },
        })),
      );
    },
    authorizeEntity: (_identity, _uid, id) => Promise.resolve({ allowed: true, id: String(id) }),
  };
}
