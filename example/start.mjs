// Starts the example Strapi app: `npm start` runs this file (the browser test too, in a child process).
// startExample() is exported for scripts that want the app in their own process (one Strapi per process).
import { copyFileSync, mkdirSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const EXAMPLE_APP = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * Loads and starts the example app (one Strapi per process). Unset options keep the app's own config:
 * port 1337 (PORT), io port 1338 (IO_PORT), host 127.0.0.1 (HOST), SQLite in example/.tmp/data.db
 * (DATABASE_FILENAME).
 *
 * @param {{ port?: number, ioPort?: number, host?: string, databaseFile?: string }} [options]
 * @returns {Promise<{ strapi: any, url: string, ioUrl: string, stop(): Promise<void> }>}
 */
export async function startExample(options = {}) {
  if (options.port !== undefined) process.env.PORT = String(options.port);
  if (options.ioPort !== undefined) process.env.IO_PORT = String(options.ioPort);
  if (options.host !== undefined) process.env.HOST = options.host;
  if (options.databaseFile !== undefined) process.env.DATABASE_FILENAME = options.databaseFile;
  process.env.NODE_ENV ??= "production"; // no admin build, no type generation, no file watching
  copyClientBundle();

  // Strapi's ESM build imports directory paths Node's ESM resolver rejects; its CommonJS build loads.
  const { createStrapi } = require("@strapi/strapi");
  const strapi = createStrapi({ appDir: EXAMPLE_APP, distDir: EXAMPLE_APP, serveAdminPanel: false });
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
  const app = await startExample();
  console.log(`\n  strapi-io example: open ${app.url} and watch events arrive`);
  console.log(`  Socket.IO (${app.strapi.$io.transport}) on ${app.ioUrl}; REST on ${app.url}/api/articles\n`);
}
