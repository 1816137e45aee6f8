/**
 * Health and metrics as routes of Strapi's own server (`/api/io/health/live`, `/api/io/health/ready`,
 * `/api/io/metrics`): what a deployment on `node-http` (no port of strapi-io's own) scrapes and probes. They
 * answer exactly as strapi-io's own port does (same readiness, same bearer token for metrics), and 404
 * when that part is switched off.
 *
 * @module
 */
import type { HttpAnswer } from "../http-routes.ts";
import type { StrapiIO } from "../io.ts";
import type { StrapiLike } from "./strapi-like.ts";

/** The part of Koa's context the controller touches. */
export interface KoaContext {
  request: { header: Record<string, string | string[] | undefined> };
  status: number;
  body: unknown;
  type: string;
  set(name: string, value: string): void;
}

type Operation = "live" | "ready" | "metrics";

/** Plugin routes as Strapi's loader takes them. */
export interface PluginRoutes {
  "content-api": {
    type: string;
    routes: Array<{
      method: string;
      path: string;
      handler: string;
      config: { auth: false; policies: never[] };
    }>;
  };
}

/** The controller of {@link operationsRoutes}: one Koa handler per operation. */
export type OperationsController = Record<Operation, (ctx: KoaContext) => Promise<void>>;

/** The routes, as Strapi's plugin loader takes them (content API: prefixed with `/api/io`). */
export const operationsRoutes: PluginRoutes = {
  "content-api": {
    type: "content-api",
    routes: (
      [["/health/live", "live"], ["/health/ready", "ready"], ["/metrics", "metrics"]] as const
    ).map(([path, handler]) => ({
      method: "GET",
      path,
      handler: `operations.${handler}`,
      // Probes and scrapers carry no Strapi credentials: metrics check their own bearer token.
      config: { auth: false, policies: [] },
    })),
  },
};

/** The controller behind {@link operationsRoutes}. */
export function operationsController({ strapi }: { strapi: StrapiLike }): OperationsController {
  const answer = (what: Operation) => async (ctx: KoaContext) => {
    const authorization = ctx.request.header.authorization;
    const io = strapi.$io as StrapiIO | undefined; // set in bootstrap, before Strapi serves requests
    const done: HttpAnswer = await (io?.answerOperations(
      what,
      typeof authorization === "string" ? authorization : "",
    ) ?? { status: 404, body: JSON.stringify({ error: "Not Found" }) });
    ctx.status = done.status;
    ctx.type = done.contentType ?? "application/json";
    for (const [name, value] of Object.entries(done.headers ?? {})) ctx.set(name, value);
    ctx.body = done.body;
  };
  return { live: answer("live"), ready: answer("ready"), metrics: answer("metrics") };
}
