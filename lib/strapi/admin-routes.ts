/**
 * The admin panel's side of the realtime page: two permissions in Strapi's RBAC (`plugin::io.read`, to see
 * the overview and the connections; `plugin::io.disconnect`, to disconnect one) and the admin API the page
 * polls, on Strapi's port under the admin prefix (`/io/overview`, `/io/connections`,
 * `/io/connections/:id/disconnect`), behind Strapi's admin authentication and those permissions.
 *
 * Everything is computed on the server ({@link StrapiIO.overview}, {@link StrapiIO.listConnections}): the
 * page receives totals and one page of connections, never one row per connection.
 *
 * @module
 */
import type { StrapiIO } from "../io.ts";
import type { Logger } from "../logger.ts";
import { MAX_DISCONNECT_REASON } from "../operations/operations-types.ts";
import type { StrapiLike } from "./strapi-like.ts";

export const READ_ACTION = "plugin::io.read";
export const DISCONNECT_ACTION = "plugin::io.disconnect";

/** The part of Koa's context (as Strapi's admin routes give it) the controller touches. */
export interface AdminContext {
  params: Record<string, string | undefined>;
  query: Record<string, unknown>;
  request: { body?: unknown };
  state: {
    userAbility?: { can(action: string): boolean };
    user?: { id?: unknown; email?: unknown };
  };
  status: number;
  body: unknown;
}

/** One admin route, as Strapi's plugin loader takes it. */
export interface AdminRoute {
  method: string;
  path: string;
  handler: string;
  config: { policies: Array<string | { name: string; config: { actions: string[] } }> };
}

const allowed = (action: string) => ({
  policies: ["admin::isAuthenticatedAdmin", {
    name: "admin::hasPermissions",
    config: { actions: [action] },
  }],
});

/** The admin routes (Strapi mounts a plugin's admin routes under `/<plugin id>`). */
export const adminRoutes: { admin: { type: "admin"; routes: AdminRoute[] } } = {
  admin: {
    type: "admin",
    routes: [
      { method: "GET", path: "/overview", handler: "admin.overview", config: allowed(READ_ACTION) },
      {
        method: "GET",
        path: "/connections",
        handler: "admin.connections",
        config: allowed(READ_ACTION),
      },
      {
        method: "POST",
        path: "/connections/:id/disconnect",
        handler: "admin.disconnect",
        config: allowed(DISCONNECT_ACTION),
      },
    ],
  },
};

/** Registers the two permissions with Strapi's RBAC (super admins get them; other roles when granted). */
export async function registerAdminPermissions(strapi: StrapiLike): Promise<void> {
  const permissions = strapi.service("admin::permission");
  if (!permissions?.actionProvider) return; // no admin in this app
  await permissions.actionProvider.registerMany([
    {
      section: "plugins",
      displayName: "Read the realtime overview and connections",
      uid: "read",
      pluginName: "io",
    },
    {
      section: "plugins",
      displayName: "Disconnect a connection",
      uid: "disconnect",
      pluginName: "io",
    },
  ]);
}

/** The controller of {@link adminRoutes}. */
export type AdminController = Record<
  "overview" | "connections" | "disconnect",
  (ctx: AdminContext) => Promise<void>
>;

export function adminController({ strapi }: { strapi: StrapiLike }): AdminController {
  const io = () => strapi.$io as StrapiIO; // set in bootstrap, before Strapi serves requests
  return {
    async overview(ctx) {
      const overview = await io().overview();
      const canDisconnect = ctx.state.userAbility?.can(DISCONNECT_ACTION) === true;
      ctx.body = { data: { ...overview, canDisconnect } };
    },
    async connections(ctx) {
      const query = connectionQuery(ctx.query);
      if (typeof query === "string") return badRequest(ctx, query);
      const { missingNodes, ...page } = await io().listConnections(query);
      ctx.body = { ...page, meta: { ...page.meta, missingNodes } };
    },
    async disconnect(ctx) {
      const id = ctx.params.id ?? "";
      const { reason } = (ctx.request.body ?? {}) as { reason?: unknown };
      if (
        typeof reason !== "string" || reason.trim() === "" || reason.length > MAX_DISCONNECT_REASON
      ) {
        return badRequest(
          ctx,
          `'reason' must be a text of 1 to ${MAX_DISCONNECT_REASON} characters`,
        );
      }
      const disconnected = io().disconnectSocket(id, reason.trim());
      if (disconnected) auditDisconnect(strapi.log, ctx, id, reason.trim());
      ctx.body = { data: { disconnected } };
    },
  };
}

/** `search`, `page` and `pageSize` from the query string, or what is wrong with them. */
function connectionQuery(
  query: Record<string, unknown>,
): { search: string; page: number; pageSize: number } | string {
  const { search = "", page = "1", pageSize = "20" } = query;
  if (typeof search !== "string" || search.length > 200) {
    return "'search' must be a text of at most 200 characters";
  }
  const number = (value: unknown) =>
    typeof value === "string" && /^[0-9]{1,9}$/.test(value) ? Number(value) : NaN;
  const [pageNumber, size] = [number(page), number(pageSize)];
  if (!(pageNumber >= 1)) return "'page' must be an integer from 1";
  if (!(size >= 1 && size <= 100)) return "'pageSize' must be an integer from 1 to 100";
  return { search, page: pageNumber, pageSize: size };
}

/** Strapi's error shape, as its own `ctx.badRequest` answers. */
function badRequest(ctx: AdminContext, message: string): void {
  ctx.status = 400;
  ctx.body = { data: null, error: { status: 400, name: "ValidationError", message, details: {} } };
}

function auditDisconnect(logger: Logger, ctx: AdminContext, id: string, reason: string): void {
  const admin = ctx.state.user;
  logger.info(
    `admin ${String(admin?.email ?? admin?.id ?? "unknown")} disconnected socket ${id}: ${reason}`,
  );
}
