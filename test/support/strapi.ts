/**
 * Boots the real Strapi 5.54.0 fixture app (fixtures/app) with the io plugin, on a fresh SQLite file and
 * port 0. One Strapi per process (a Strapi limitation); node:test runs each test file in its own process.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import type { PluginOptions } from "../../lib/strapi/plugin-options.ts";
import type { StrapiIO } from "../../lib/io.ts";

export const FIXTURE_APP = fileURLToPath(new URL("../../fixtures/app", import.meta.url));

export interface BootedStrapi {
  strapi: any;
  io: StrapiIO;
  /** Strapi's REST base URL. */
  url: string;
  /** The URL Socket.IO clients connect to (uWS's own port, or Strapi's with node-http). */
  ioUrl: string;
  destroy(): Promise<void>;
}

/**
 * Loads and starts the fixture app; `ioConfig` becomes `io.config` in its config/plugins.js, and
 * `usersPermissionsConfig` is merged into users-permissions' config.
 */
export async function bootStrapi(
  ioConfig: PluginOptions = { transport: { port: 0, host: "127.0.0.1" } },
  usersPermissionsConfig: Record<string, unknown> = {},
): Promise<BootedStrapi> {
  process.env.NODE_ENV = "test";
  const dataDir = mkdtempSync(join(tmpdir(), "strapi-io-"));
  process.env.DATABASE_FILENAME = join(dataDir, "data.db");
  Object.assign(globalThis, {
    __strapiIoTestConfig: ioConfig,
    __strapiUsersPermissionsTestConfig: usersPermissionsConfig,
  });
  // Strapi's ESM build imports directory paths Node's ESM resolver rejects; its CommonJS build loads.
  const { createStrapi } = createRequire(import.meta.url)("@strapi/strapi");
  const strapi = createStrapi({
    appDir: FIXTURE_APP,
    distDir: FIXTURE_APP,
    serveAdminPanel: false,
  });
  try {
    await strapi.load();
    await strapi.listen();
  } catch (error) {
    // A refused boot (bad config) leaves nothing behind: no open database, no temp files.
    await strapi.destroy().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const port = (strapi.server.httpServer.address() as AddressInfo).port;
  const io = strapi.$io as StrapiIO;
  return {
    strapi,
    io,
    url: `http://127.0.0.1:${port}`,
    ioUrl: `http://127.0.0.1:${io.port}`,
    destroy: async () => {
      await strapi.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
