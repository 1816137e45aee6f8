/**
 * The example app (`npm start`) in a child process, and Debian's Chromium, for the browser tests in
 * test/example/. The app runs `node example/start.mjs` on port 0 with a temporary SQLite file.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";

const START = fileURLToPath(new URL("../../example/start.mjs", import.meta.url));
const BUILD_ADMIN = fileURLToPath(new URL("../../example/build-admin.mjs", import.meta.url));
export const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** How long the app may take to boot once its admin panel is built. */
const START_MS = 30_000;

export interface ExampleProcess {
  /** The demo page. */
  url: string;
  /** Where Socket.IO listens (the uWS port, or Strapi's with node-http). */
  ioUrl: string;
  stop(): Promise<void>;
}

/** Launches Debian's Chromium (playwright-core never downloads a browser). */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run scripts/ensure-chromium.sh (installs Debian's chromium package)`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * Builds the example's admin panel unless example/build/ is up to date (`node example/build-admin.mjs`;
 * a minute or so when cold, a fraction of a second when cached).
 */
export async function ensureAdminBuild(): Promise<void> {
  const child = spawn(process.execPath, [BUILD_ADMIN], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const record = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-8_000));
  child.stdout!.on("data", record);
  child.stderr!.on("data", record);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`example/build-admin.mjs exited with code ${code}:\n${output}`);
}

/**
 * Runs `node example/start.mjs [args]` and resolves once it prints its URLs (Strapi listens).
 * `--no-admin` skips the admin panel; without it, the admin panel must already be built (see
 * {@link ensureAdminBuild}) for the app to start within the time allowed.
 */
export function startExampleProcess(
  databaseFile: string,
  args: string[] = [],
): Promise<ExampleProcess> {
  const child = spawn(process.execPath, [START, ...args], {
    env: {
      ...process.env,
      PORT: "0",
      IO_PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_FILENAME: databaseFile,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = ""; // kept (the tail) for the failure message; reading also keeps the pipes from filling up
  const record = (chunk: Buffer) => void (output = (output + chunk.toString()).slice(-8_000));
  child.stdout!.on("data", record);
  child.stderr!.on("data", record);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not print its URL within ${START_MS} ms`), START_MS);
    const onExit = (code: number | null) => fail(`exited (code ${code}) before it listened`);
    const onData = () => {
      const url = /strapi-io example: open (http:\/\/\S+)/.exec(output)?.[1];
      const ioUrl = /Socket\.IO \(\S+\) on (http:\/\/\S+);/.exec(output)?.[1];
      if (url === undefined || ioUrl === undefined) return;
      settle();
      resolve({ url, ioUrl, stop: () => stopProcess(child, exited) });
    };
    function settle() {
      clearTimeout(timer);
      child.off("exit", onExit);
      child.stdout!.off("data", onData);
    }
    function fail(why: string) {
      settle();
      void stopProcess(child, exited).then(() =>
        reject(new Error(`example/start.mjs ${why}:\n${output}`))
      );
    }
    child.once("exit", onExit);
    child.stdout!.on("data", onData);
  });
}

/** SIGTERM (Strapi destroys itself and exits), SIGKILL if it is still there after a while. */
async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}
