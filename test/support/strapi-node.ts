/**
 * A second real Strapi (the fixture app) in its own process, for the cluster tests: one Strapi per process
 * is a Strapi limitation. Started with `node --import tsx` and `[databaseFile, ioConfigJson]`: it opens the
 * SQLite file of the first node (which created the schema), so both see the same roles, tokens and
 * documents, as the nodes of one deployment do. It answers `{ id, method, args }` over IPC: `create` and
 * `update` (a document through the Document Service, so content events fire here), `$io`'s `raw`,
 * `subscribe` and `getSubscriptions`, `accessChanges` (the access
 * changes other nodes announced to this one, in arrival order), `failures`, and `close`.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const [databaseFile, ioConfig] = process.argv.slice(2);
process.env.NODE_ENV = "test";
process.env.DATABASE_FILENAME = databaseFile;
process.env.STRAPI_IO_CONFIG = ioConfig;
const appDir = fileURLToPath(new URL("../../fixtures/app", import.meta.url));

const failures: string[] = [];
const { createStrapi } = createRequire(import.meta.url)("@strapi/strapi");
const strapi = createStrapi({ appDir, distDir: appDir, serveAdminPanel: false });
try {
  await strapi.load();
  // Two processes on one SQLite file: in WAL mode (which the file keeps) a reader never makes the other
  // node's write fail with SQLITE_BUSY, as the default rollback journal can.
  await strapi.db.connection.raw("pragma journal_mode = WAL");
  await strapi.listen();
} catch (error) {
  process.send!({ bootError: error instanceof Error ? error.message : String(error) });
  process.exit(0);
}
// Strapi's destroy() removes every process listener; these are installed after boot for the test's sake.
process.on(
  "unhandledRejection",
  (reason) => void failures.push(`unhandledRejection: ${String(reason)}`),
);

const accessChanges: unknown[] = [];
strapi.$io.server.on(
  "strapi-io:access-changed",
  (changes: unknown) => void accessChanges.push(changes),
);

const methods: Record<string, (...args: any[]) => unknown> = {
  create: async (uid: string, data: Record<string, unknown>) =>
    (await strapi.documents(uid).create({ data, status: "published" })).documentId,
  update: async (uid: string, documentId: string, data: Record<string, unknown>) =>
    (await strapi.documents(uid).update({ documentId, data, status: "published" })).documentId,
  raw: (options: unknown) => strapi.$io.raw(options),
  subscribe: (socketId: string, uid: string, query: unknown) =>
    strapi.$io.subscribe(socketId, uid, query),
  getSubscriptions: (socketId: string) => strapi.$io.getSubscriptions(socketId),
  accessChanges: () => accessChanges,
  failures: () => failures,
  close: async () => {
    await strapi.destroy();
    setImmediate(() => process.disconnect?.());
    return true;
  },
};

process.on(
  "message",
  async ({ id, method, args }: { id: number; method: string; args: unknown[] }) => {
    try {
      const run = methods[method];
      if (!run) throw new Error(`unknown method ${method}`);
      process.send!({ id, result: await run(...args) });
    } catch (error) {
      process.send!({ id, error: error instanceof Error ? error.message : String(error) });
    }
  },
);

process.send!({ ready: true, port: strapi.$io.port, transport: strapi.$io.transport });
