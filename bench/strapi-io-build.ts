/**
 * Loads strapi-io as users run it: the JavaScript `tsc` builds into dist/ (`npm run bench` builds first).
 * Running lib/*.ts through tsx instead would measure tsx's additions too (esbuild's `keepNames` wraps
 * every closure created per call in a `__name()` call). Typed from the sources; the path is computed so
 * that type-checking does not depend on a build.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

type IoModule = typeof import("../lib/create-socket-io.ts");

export async function loadStrapiIo(): Promise<IoModule> {
  const built = new URL("../dist/lib/create-socket-io.js", import.meta.url);
  if (!existsSync(fileURLToPath(built))) {
    throw new Error("bench: dist/ is missing; run `npm run build` (npm run bench does)");
  }
  return (await import(built.href)) as IoModule;
}
