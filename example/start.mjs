// Starts the example Strapi app: `npm start` runs this file (the browser tests too, in a child process).
// startExample() is exported for scripts that want the app in their own process (one Strapi per process).
//
//   node example/start.mjs              the demo page on / and the admin panel on /admin (built once, cached)
//   node example/start.mjs --no-admin   the demo page only: no admin build, starts in seconds
import { copyFileSync, mkdirSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ensureAdminBuild } from "./build-admin.mjs";

export const EXAMPLE_APP = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * Loads and starts the example app (one Strapi per process). Unset options keep the app's own config:
 * port 1337 (PORT), io port 1338 (IO_PORT), host 127.0.0.1 (HOST), SQLite in example/.tmp/data.db
 * (DATABASE_FILENAME). With `admin` (the default) the admin panel is served on /admin, built first by
 * example/build-admin.mjs if its inputs changed since the last build.
 *
 * @param {{ port?: number, ioPort?: number, host?: string, databaseFile?: string, admin?: boolean }} [options]
 * @returns {Promise<{ strapi: any, url: string, adminUrl?: string, ioUrl: string, stop(): Promise<void> }>}
 */
export async function startExample(options = {}) {
  if (options.port !== undefined) process.env.PORT = String(options.port);
  if (options.ioPort !== undefined) process.env.IO_PORT = String(options.ioPort);
  if (options.host !== undefined) process.env.HOST = options.host;
  if (options.databaseFile !== undefined) process.env.DATABASE_FILENAME = options.databaseFile;
  process.env.NODE_ENV ??= "production"; // the prebuilt admin, no type generation, no file watching
  const admin = options.admin ?? true;
  copyClientBundle();
  if (admin) await ensureAdminBuild();

  // Strapi's ESM build imports directory paths Node's ESM resolver rejects; its CommonJS build loads.
  const { createStrapi } = require("@strapi/strapi");
  // Strapi serves the admin panel from <distDir>/build, where build-admin.mjs puts it.
  const strapi = createStrapi({ appDir: EXAMPLE_APP, distDir: EXAMPLE_APP, serveAdminPanel: admin });
  try {
    await strapi.load();
    await strapi.listen();
  } catch (error) {
    await strapi.destroy().catch(() => {});
    throw error;
  }
  const { port } = strapi.server.httpServer.address();
  const host = strapi.config.get("server.host");
  const pageHost = host === "0.0.0.0" || host === "::" ? "localhost" : host;
  return {
    strapi,
    url: `http://${pageHost}:${port}`,
    adminUrl: admin ? `http://${pageHost}:${port}${strapi.config.get("admin.path")}` : undefined,
    ioUrl: `http://${pageHost}:${strapi.$io.port}`,
    stop: () => strapi.destroy(),
  };
}

/** The Socket.IO browser client, served by Strapi from public/vendor/ (git-ignored; no CDN needed). */
function copyClientBundle() {
  // socket.io-client's exports map hides dist/; find the package root from its entry point.
  const entry = require.resolve("socket.io-client");
  const root = entry.slice(0, entry.lastIndexOf("socket.io-client") + "socket.io-client".length);
  const vendor = join(EXAMPLE_APP, "public", "vendor");
  mkdirSync(vendor, { recursive: true });
  // Copy then rename: a page loaded while another process starts never sees a half-written file.
  const partial = join(vendor, `socket.io.min.js.${process.pid}.tmp`);
  copyFileSync(join(root, "dist", "socket.io.min.js"), partial);
  renameSync(partial, join(vendor, "socket.io.min.js"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await startExample({ admin: !process.argv.includes("--no-admin") });
  console.log(`\n  strapi-io example: open ${app.url} and watch events arrive`);
  if (app.adminUrl) console.log(`  Admin panel: ${app.adminUrl} (the Realtime page is in its menu)`);
  console.log(`  Socket.IO (${app.strapi.$io.transport}) on ${app.ioUrl}; REST on ${app.url}/api/articles\n`);
}
