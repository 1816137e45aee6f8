/**
 * Notices changes to what anyone may read: users-permissions roles, permissions and users, content-API
 * tokens and their permissions, and login sessions. Strapi emits no event for these, so this listens to database lifecycles,
 * waits for the commit, then reports each change at once (so the very next event follows it) and once
 * more per burst, coalesced (saving a role rewrites each of its permission rows one by one).
 *
 * @module
 */
import type { Logger } from "../logger.ts";
import { afterCommit } from "./after-commit.ts";
import type { AccessChange } from "./sessions.ts";
import type { LifecycleEvent, StrapiLike } from "./strapi-like.ts";

const WATCHED: Record<string, AccessChange> = {
  "plugin::users-permissions.permission": "permissions",
  "plugin::users-permissions.role": "permissions",
  "plugin::users-permissions.user": "users",
  "admin::api-token": "tokens",
  "admin::api-token-permission": "tokens",
  // Login sessions (users-permissions in refresh mode, and the admin's): a logout deletes the row.
  "admin::session": "sessions",
};

/** Token columns Strapi updates on use; such an update changes nobody's access. */
const USAGE_ONLY_FIELDS = new Set(["lastUsedAt", "updatedAt"]);

/** What to do about access changes. */
export interface AccessChangeHandlers {
  /** After each committed change: cheap, synchronous (drop cached abilities). */
  changed(change: AccessChange): void;
  /** Once per burst of changes, with their kinds (re-check connected sockets). */
  settled(changes: ReadonlySet<AccessChange>): void;
}

/** Subscribes to the lifecycles. Returns the unsubscriber. */
export function watchAccessChanges(
  strapi: StrapiLike,
  logger: Logger,
  handlers: AccessChangeHandlers,
): () => void {
  let pending = new Set<AccessChange>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    timer = undefined;
    const changes = pending;
    pending = new Set();
    handlers.settled(changes);
  };
  const note = (event: LifecycleEvent) => {
    const change = WATCHED[event.model.uid];
    if (!change || isUsageOnly(event)) return;
    afterCommit(strapi, logger, "access change", () => {
      handlers.changed(change);
      pending.add(change);
      // One macrotask of grace gathers the row-by-row writes of one save into one refresh.
      timer ??= setTimeout(flush, 10);
    });
  };
  const unsubscribe = strapi.db.lifecycles.subscribe({
    models: Object.keys(WATCHED),
    afterCreate: note,
    afterCreateMany: note,
    afterUpdate: note,
    afterUpdateMany: note,
    afterDelete: note,
    afterDeleteMany: note,
  });
  return () => {
    unsubscribe();
    if (timer !== undefined) clearTimeout(timer);
  };
}

function isUsageOnly(event: LifecycleEvent): boolean {
  if (event.model.uid !== "admin::api-token" || !event.action.startsWith("afterUpdate")) {
    return false;
  }
  const fields = Object.keys(event.params.data ?? {});
  return fields.length > 0 && fields.every((field) => USAGE_ONLY_FIELDS.has(field));
}
