/**
 * Memory of the replay buffer: heap and RSS per buffered event of a ~1 KB document, part-full, full
 * (`recovery.maxEvents`, 10,000 by default) and past full (it must stay at full), against the same run
 * with recovery off. Each reading is a fresh process (bench/recovery/memory-process.ts); repetitions
 * interleaved; medians.
 *
 *   node --import tsx bench/recovery/memory.ts [--reps=3]
 *
 * Needs dist/ (`npm run build`). Prints a Markdown report (bench/recovery/RESULTS.md has the one on record).
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { environment, median } from "../metrics.ts";

interface Reading {
  workload: "raw" | "emit";
  recovery: "on" | "off";
  events: number;
  mode: "live" | "replayed";
  buffered: number;
  heapUsed: number;
  rss: number;
  external: number;
  documentBytes: number;
}

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=", 2);
    return [key as string, value ?? "true"];
  }),
);
const reps = Number(args.get("reps") ?? 3);

/** `[workload, recovery, events, mode, what the row is]`; each `on` row is compared with the `off` row of its workload. */
const CASES = [
  ["raw", "off", 10_000, "live", "recovery off (baseline)"],
  ["raw", "on", 1_000, "live", "1,000 events buffered"],
  ["raw", "on", 10_000, "live", "buffer full (maxEvents = 10,000)"],
  ["raw", "on", 20_000, "live", "20,000 sent: still full, the oldest evicted"],
  ["raw", "on", 10_000, "replayed", "buffer full, every event replayed once (kept encoded)"],
  ["emit", "off", 3_333, "live", "recovery off (baseline)"],
  ["emit", "on", 3_333, "live", "3,333 emits = 9,999 entries (full)"],
] as const;

const script = fileURLToPath(new URL("./memory-process.ts", import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

function measure(c: (typeof CASES)[number]): Reading {
  const output = execFileSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", script, c[0], c[1], String(c[2]), c[3]],
    { encoding: "utf8" },
  );
  return JSON.parse(output.trim().split("\n").at(-1) ?? "{}") as Reading;
}

const started = Date.now();
const readings: Array<{ index: number; reading: Reading }> = [];
for (let rep = 1; rep <= reps; rep += 1) {
  CASES.forEach((c, index) => {
    const reading = measure(c);
    readings.push({ index, reading });
    log(
      `rep ${rep}: ${c[0]} ${c[1]} ${c[2]} ${c[3]}: heap +${
        (reading.heapUsed / 2 ** 20).toFixed(2)
      } MiB, RSS +${(reading.rss / 2 ** 20).toFixed(2)} MiB, ${reading.buffered} buffered`,
    );
  });
}

const of = (index: number, pick: (r: Reading) => number) =>
  median(readings.filter((r) => r.index === index).map((r) => pick(r.reading)));
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
const env = environment();
const out: string[] = [];
out.push(
  `Run on ${env.date} (${
    ((Date.now() - started) / 60_000).toFixed(1)
  } min): \`node --import tsx bench/recovery/memory.ts ${
    process.argv.slice(2).join(" ")
  }\`. Medians of ${reps} repetitions, each reading a fresh process.`,
  "",
  `- CPU: ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB; ${env.os}`,
  `- Node ${env.node}; ${
    Object.entries(env.packages).map(([name, version]) => `${name} ${version}`).join(", ")
  }`,
  `- strapi-io commit ${env.commit}${
    env.dirty ? " plus uncommitted changes in lib/ or bench/" : ""
  }`,
  `- document: the scenario's article, ${
    readings[0]?.reading.documentBytes ?? 0
  } B as JSON, a fresh object per event; one client connected (role:editor); uWS transport`,
  "",
  "| workload | case | entries in the buffer | heap growth (MiB) | RSS growth (MiB) | heap per entry, net of recovery off (B) | RSS per entry, net of recovery off (B) |",
  "|---|---|---:|---:|---:|---:|---:|",
);
CASES.forEach((c, index) => {
  const base = CASES.findIndex((b) => b[0] === c[0] && b[1] === "off");
  const buffered = of(index, (r) => r.buffered);
  const heap = of(index, (r) => r.heapUsed);
  const rss = of(index, (r) => r.rss);
  const perEntry = (value: number, baseValue: number) =>
    c[1] === "off" || buffered === 0 ? "–" : Math.round((value - baseValue) / buffered).toString();
  out.push(
    `| ${c[0] === "raw" ? "`raw()`" : "`emit()` (3 sanitized copies)"} | ${c[4]} | ${
      buffered.toLocaleString("en-US")
    } | ${mib(heap)} | ${mib(rss)} | ${perEntry(heap, of(base, (r) => r.heapUsed))} | ${
      perEntry(rss, of(base, (r) => r.rss))
    } |`,
  );
});
out.push(
  "",
  "Heap is read after full collections and is exact to a few KiB; RSS also holds what V8 and the allocator keep after a burst (the recovery-off rows grow by as much with nothing kept), so RSS growth under ~10 MiB is within noise.",
  "",
);
process.stdout.write(out.join("\n"));
