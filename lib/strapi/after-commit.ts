/**
 * Runs work once the current database transaction has committed — or now, when there is none.
 *
 * A document-service call made on its own commits before its middleware's `next()` returns; one made
 * inside an outer `strapi.db.transaction()` (the admin's publish, bulk delete, bulk publish) is not
 * committed yet and may still roll back. Strapi's transaction context keeps commit callbacks for the
 * outermost transaction and drops them on rollback, which is what we want: no event for a change that
 * did not happen, and no event before a client that refetches on it could see the change.
 *
 * @module
 */
import { errorMessage, type Logger } from "../logger.ts";
import type { StrapiLike } from "./strapi-like.ts";

/** Schedules `work` after commit; its failure is logged with `what`, never thrown at the caller. */
export function afterCommit(
  strapi: StrapiLike,
  logger: Logger,
  what: string,
  work: () => Promise<void> | void,
): void {
  const run = () => {
    Promise.resolve()
      .then(work)
      .catch((error) => logger.error(`${what} failed: ${errorMessage(error)}`));
  };
  if (!strapi.db.inTransaction()) {
    run();
    return;
  }
  // Joins the enclosing transaction (no new one is opened) and registers on its commit callbacks.
  strapi.db.transaction(({ onCommit }) => onCommit(run)).catch((error) =>
    logger.error(`${what} could not wait for the commit: ${errorMessage(error)}`)
  );
}
