/**
 * Names of the rooms strapi-io manages, computed in one place.
 *
 * @module
 */

const AUDIENCE_PREFIX = "strapi-io:audience:";
const ENTITY_PREFIX = "entity:";

/** Audience room names built so far: every socket of an audience shares one string instead of holding its own. */
const audienceRooms = new Map<string, string>();
/** Audiences are roles and API tokens, so few; past this many, names are built without being kept. */
const MAX_CACHED_AUDIENCE_ROOMS = 10_000;

/** The room of one audience (a role, an API token, a permission set). Internal: hidden from room listings. */
export function audienceRoom(audience: string): string {
  let room = audienceRooms.get(audience);
  if (room === undefined) {
    room = `${AUDIENCE_PREFIX}${audience}`;
    if (audienceRooms.size < MAX_CACHED_AUDIENCE_ROOMS) audienceRooms.set(audience, room);
  }
  return room;
}

/** Whether a room is one of strapi-io's internal audience rooms. */
export function isInternalRoom(room: string): boolean {
  return room.startsWith(AUDIENCE_PREFIX);
}

/** The room of the sockets following one entity: `entity:<uid>:<id>`. */
export function entityRoom(uid: string, id: string): string {
  return `${ENTITY_PREFIX}${uid}:${id}`;
}
