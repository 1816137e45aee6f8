// Builds the example app's admin panel (Strapi's own `strapi build`: Vite, production, minified) into
// example/build/, where Strapi serves it from (`<distDir>/build`), with strapi-io's page in it.
// The build takes a minute or more, so it is cached: a fingerprint of everything that goes into it (the
// plugin's admin sources, the example's config and package.json, the versions of Strapi, Vite, React and
// the design system) is written to example/.strapi/admin-build.json after a build, and a later run with
// the same fingerprint does nothing. Both folders are git-ignored.
//
//   node example/build-admin.mjs           build if anything changed
//   node example/build-admin.mjs --force   build anyway
//
// `ensureAdminBuild()` is what example/start.mjs and the admin page's browser test call. The build runs
// in a child process: Strapi's build creates a Strapi instance of its own (and sets `global.strapi`),
// which must not meet the one the caller is about to start.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const EXAMPLE_APP = dirname(fileURLToPath(import.meta.url));
const REPO = join(EXAMPLE_APP, "..");
const STAMP = join(EXAMPLE_APP, ".strapi", "admin-build.json");
const OUTPUT = join(EXAMPLE_APP, "build", "index.html");
const require = createRequire(import.meta.url);

/** Packages whose version changes the admin bundle. */
const BUNDLED_PACKAGES = [
  "@strapi/strapi",
  "@strapi/admin",
  "@strapi/design-system",
  "@strapi/icons",
  "@strapi/plugin-users-permissions",
  "react",
  "react-dom",
  "styled-components",
  "vite",
];

/**
 * Builds the admin panel unless the last build had the same inputs.
 *
 * @param {{ force?: boolean, log?: (line: string) => void }} [options]
 * @returns {Promise<{ built: boolean, ms: number }>} whether it built, and how long the call took
 */
export async function ensureAdminBuild({ force = false, log = console.log } = {}) {
  const started = Date.now();
  const fingerprint = adminFingerprint();
  if (!force && isFresh(fingerprint)) return { built: false, ms: Date.now() - started };
  log("  strapi-io example: building the admin panel (once; a minute or two on a first run)...");
  await runBuild();
  const ms = Date.now() - started;
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, JSON.stringify({ fingerprint, builtAt: new Date().toISOString(), ms }, null, 2));
  log(`  strapi-io example: admin panel built in ${(ms / 1000).toFixed(1)} s`);
  return { built: true, ms };
}

/** True when example/build/ exists and was built from exactly these inputs. */
function isFresh(fingerprint) {
  if (!existsSync(OUTPUT) || !existsSync(STAMP)) return false;
  try {
    return JSON.parse(readFileSync(STAMP, "utf8")).fingerprint === fingerprint;
  } catch {
    return false; // an unreadable stamp means: build again
  }
}

/** A hash of the build's inputs: source files by path and content, package versions, the exports map. */
export function adminFingerprint() {
  const hash = createHash("sha256");
  const files = [
    ...listFiles(join(REPO, "admin", "src")),
    join(REPO, "strapi-admin.js"),
    join(REPO, "lib", "operations", "operations-types.ts"), // the page's API types and limits
    join(EXAMPLE_APP, "package.json"),
    join(EXAMPLE_APP, "config", "admin.js"),
    join(EXAMPLE_APP, "config", "plugins.js"),
    join(EXAMPLE_APP, "config", "server.js"),
  ];
  for (const file of files) {
    hash.update(`${relative(REPO, file)}\0`).update(readFileSync(file)).update("\0");
  }
  const rootPackage = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8"));
  hash.update(JSON.stringify(rootPackage.exports));
  for (const name of BUNDLED_PACKAGES) {
    hash.update(`${name}@${require(`${name}/package.json`).version}\0`);
  }
  return hash.digest("hex");
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? listFiles(path) : [path];
    });
}

/** Runs this file with `--child` (the build itself) and resolves when it succeeded. */
function runBuild() {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--child"], {
    cwd: EXAMPLE_APP,
    env: { ...process.env, NODE_ENV: "production", STRAPI_TELEMETRY_DISABLED: "true" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`the admin build failed (${signal ?? `exit code ${code}`})`))
    );
  });
}

/**
 * The build, as `strapi build` runs it, minus the CLI: the CLI looks for a tsconfig.json upwards from
 * the app and would find the repository's, then try to compile the whole repository as the app's
 * TypeScript. The example app is plain JavaScript, so it passes no tsconfig.
 */
async function buildInThisProcess() {
  const strapiRoot = dirname(require.resolve("@strapi/strapi/package.json"));
  // Not in @strapi/strapi's exports map; these are the files the `strapi build` command itself calls.
  const { build } = require(join(strapiRoot, "dist", "src", "node", "build.js"));
  const { createLogger } = require(join(strapiRoot, "dist", "src", "cli", "utils", "logger.js"));
  await build({
    cwd: EXAMPLE_APP,
    logger: createLogger({ debug: false, silent: false, timestamp: false }),
    tsconfig: undefined,
    minify: true,
    sourcemap: false,
    stats: false,
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes("--child")) {
    await buildInThisProcess();
    process.exit(0); // the build's Strapi instance keeps handles open
  } else {
    const { built } = await ensureAdminBuild({ force: process.argv.includes("--force") });
    if (!built) console.log("  strapi-io example: the admin panel is up to date (example/build/)");
  }
}
