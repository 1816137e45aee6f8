/**
 * The Strapi plugin (id `io`): validates `config/plugins` → `io.config` at boot, starts `strapi.$io` in
 * bootstrap (before Strapi accepts requests), and frees everything in destroy.
 *
 * @module
 */
import { createSocketIO, type StrapiIO } from "../io.ts";
import { type IoOptions, resolveOptions } from "../options.ts";
import type { AccessPolicy } from "../access-policy.ts";
import type { Logger } from "../logger.ts";
import type { Server as HttpServer } from "node:http";

/** The parts of Strapi the plugin touches (structural, so `lib/` stays free of Strapi's heavy types). */
export interface StrapiLike {
  config: { get(path: string, fallback?: unknown): unknown };
  log: Logger;
  server: { httpServer: HttpServer };
  $io?: StrapiIO;
}

/**
 * Until the permission-aware policy lands, `emit()` inside Strapi refuses to run rather than send
 * unsanitized documents to every client. Rooms, raw, private messages, namespaces and entity
 * subscriptions work.
 */
const pendingPolicy: AccessPolicy = {
  identify: () => Promise.resolve({ role: "public", user: null, audiences: [] }),
  deliveries: () => Promise.reject(new Error("strapi-io: emit() inside Strapi needs the permission-aware policy, which is not available in this version")),
  authorizeEntity: (_identity, _uid, id) => Promise.resolve({ allowed: true, id: String(id) }),
};

/** Strapi's plugin object for `strapi-server.js`. */
export const strapiPlugin = {
  config: {
    default: {} satisfies IoOptions,
    /** Strapi calls this at load with the merged config; a throw aborts boot naming the plugin. */
    validator(config: unknown): void {
      resolveOptions(config as IoOptions);
    },
  },
  register(): void {},
  async bootstrap({ strapi }: { strapi: StrapiLike }): Promise<void> {
    const options = strapi.config.get("plugin::io", {}) as IoOptions;
    strapi.$io = await createSocketIO(options, {
      httpServer: strapi.server.httpServer,
      logger: strapi.log,
      policy: pendingPolicy,
    });
  },
  async destroy({ strapi }: { strapi: StrapiLike }): Promise<void> {
    await strapi.$io?.close();
    delete strapi.$io;
  },
};
