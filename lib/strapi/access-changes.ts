/**
 * Notices changes to what anyone may read: users-permissions roles, permissions and users, content-API
 * tokens and their permissions, and login sessions. Strapi emits no event for these, so this listens to
 * database lifecycles and reports each change once committed, at once: the node that made it — and, once
 * told, every other node of a cluster — must follow it from its very next event. {@link accessChangeBursts}
 * then re-checks connected sockets once per burst (saving a role rewrites its permission rows one by one).
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
  /** After each change: cheap, synchronous (drop cached abilities). */
  changed(change: AccessChange): void;
  /** Once per burst of changes, with their kinds (re-check connected sockets). */
  settled(changes: ReadonlySet<AccessChange>): void;
}

/** Access changes, made here or announced by another node, applied one by one and settled per burst. */
export interface AccessChangeBursts {
  /** Applies `change` at once (`changed`) and settles it with its burst (`settled`). */
  note(change: AccessChange): void;
  /** Drops a pending burst and ignores later changes (plugin destroy). */
  close(): void;
}

/** Applies each change at once and gathers the changes of one burst into one `settled` call. */
export function accessChangeBursts(handlers: AccessChangeHandlers): AccessChangeBursts {
  let pending = new Set<AccessChange>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const flush = () => {
    timer = undefined;
    const changes = pending;
    pending = new Set();
    handlers.settled(changes);
  };
  return {
    note(change) {
      if (closed) return;
      handlers.changed(change);
      pending.add(change);
      // One macrotask of grace gathers the row-by-row writes of one save into one re-check.
      timer ??= setTimeout(flush, 10);
    },
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      pending = new Set();
    },
  };
}

/**
 * Subscribes to the lifecycles; calls `committed` with each change once its transaction has committed, in
 * a microtask of the write (before the code that wrote goes on). Returns the unsubscriber.
 */
export function watchAccessChanges(
  strapi: StrapiLike,
  logger: Logger,
  committed: (change: AccessChange) => void,
): () => void {
  const note = (event: LifecycleEvent) => {
    const change = WATCHED[event.model.uid];
    if (!change || isUsageOnly(event)) return;
    afterCommit(strapi, logger, "access change", () => committed(change));
  };
  return strapi.db.lifecycles.subscribe({
    models: Object.keys(WATCHED),
    afterCreate: note,
    afterCreateMany: note,
    afterUpdate: note,
    afterUpdateMany: note,
    afterDelete: note,
    afterDeleteMany: note,
  });
}

function isUsageOnly(event: LifecycleEvent): boolean {
  if (event.model.uid !== "admin::api-token" || !event.action.startsWith("afterUpdate")) {
    return false;
  }
  const fields = Object.keys(event.params.data ?? {});
  return fields.length > 0 && fields.every((field) => USAGE_ONLY_FIELDS.has(field));
}
