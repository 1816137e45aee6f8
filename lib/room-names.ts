/**
 * Names of the rooms strapi-io manages, computed in one place.
 *
 * @module
 */

const AUDIENCE_PREFIX = "strapi-io:audience:";
const ENTITY_PREFIX = "entity:";

/** The room of one audience (a role, an API token, a permission set). Internal: hidden from room listings. */
export function audienceRoom(audience: string): string {
  return `${AUDIENCE_PREFIX}${audience}`;
}

/** Whether a room is one of strapi-io's internal audience rooms. */
export function isInternalRoom(room: string): boolean {
  return room.startsWith(AUDIENCE_PREFIX);
}

/** The room of the sockets following one entity: `entity:<uid>:<id>`. */
export function entityRoom(uid: string, id: string): string {
  return `${ENTITY_PREFIX}${uid}:${id}`;
}
