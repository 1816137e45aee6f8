/**
 * Statistics and machine readings: medians, percentiles, the machine-busy guard (CPU used by other
 * processes during a phase, from /proc/stat), and the environment printed next to every table.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Nearest-rank percentile (`p` in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Busy and total CPU time of the whole machine so far, in microseconds (from /proc/stat). */
export function machineCpu(): { busyUs: number; totalUs: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [, ...fields] = line.trim().split(/\s+/);
  const ticks = fields.map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0); // idle + iowait
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
  const usPerTick = 1e6 / 100; // USER_HZ is 100 on Linux
  return { busyUs: (total - idle) * usPerTick, totalUs: total * usPerTick };
}

/**
 * CPU other processes used during a phase, in cores: the machine's busy time minus what the bench's
 * own processes report, over the wall time. A phase over the threshold is repeated.
 */
export function foreignCores(
  before: { busyUs: number },
  after: { busyUs: number },
  ownUs: number,
  wallUs: number,
): number {
  return Math.max(0, (after.busyUs - before.busyUs - ownUs) / wallUs);
}

/** Waits until other processes use less than `maxCores` over a one-second sample (at most `maxWaitMs`). */
export async function waitForQuietMachine(maxCores: number, maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const before = machineCpu();
    const own = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const ownDelta = process.cpuUsage(own);
    const load = foreignCores(before, machineCpu(), ownDelta.user + ownDelta.system, 1e6);
    if (load < maxCores || Date.now() > deadline) return load;
  }
}

export interface Environment {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  packages: Record<string, string>;
  commit: string;
  dirty: boolean;
  date: string;
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(
      readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), "utf8"),
    ) as { version: string; name: string }).version;
  } catch {
    return "not installed";
  }
}

export function environment(): Environment {
  const git = (...args: string[]) => {
    try {
      return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
        .trim();
    } catch {
      return "";
    }
  };
  const memInfo = readFileSync("/proc/meminfo", "utf8");
  const memKiB = Number(/MemTotal:\s+(\d+)/.exec(memInfo)?.[1] ?? 0);
  return {
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(memKiB / 1024 / 1024),
    node: process.version,
    os: `${process.platform} ${readFileSync("/proc/sys/kernel/osrelease", "utf8").trim()}`,
    packages: {
      "socket.io": packageVersion("socket.io"),
      "engine.io": packageVersion("engine.io"),
      "socket.io-adapter": packageVersion("socket.io-adapter"),
      "uWebSockets.js": `${packageVersion("uWebSockets.js")} (@trufflesuite/uws-js-unofficial)`,
    },
    commit: git("rev-parse", "--short", "HEAD") || "unknown",
    dirty: git("status", "--porcelain", "--", "lib", "bench") !== "",
    date: new Date().toISOString(),
  };
}
