/**
 * What the admin page's two calls cost a node: `$io.overview()` and `$io.listConnections()` (first page,
 * last page, searches that match nothing and that match a few), timed per call at growing socket counts,
 * with the event-loop delay while an admin polls every 2 s and the heap per socket (the socket index's
 * share weighed apart).
 * Each case is a fresh server process (bench/operations/overview-server.ts) with real WebSocket clients
 * in processes of their own (bench/operations/overview-clients.ts).
 *
 *   node --import tsx bench/operations/overview.ts [--cases=uws:10000x1,uws:16667x6] [--calls=50]
 *     [--poll=10] [--reps=1] [--json=bench/operations/overview.json]
 *
 * A case is `<transport>:<connections>x<namespaces>`: every connection holds one socket in `/` and one
 * in each extra namespace (Socket.IO multiplexes namespaces on one WebSocket), so a process limited to
 * 20,000 file descriptors can still hold 100,000 sockets. Needs dist/ (`npm run build`). Prints a
 * Markdown report; bench/operations/RESULTS.md has the one on record.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { environment, median } from "../metrics.ts";
import type { CaseResult } from "./overview-server.ts";

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=", 2);
    return [key as string, value ?? "true"];
  }),
);
const DEFAULT_CASES = [
  "uws:10000x1",
  "uws:19000x1",
  "uws:10000x5",
  "uws:16667x6",
  "node-http:10000x1",
  "node-http:16667x6",
];
const cases = (args.get("cases")?.split(",") ?? DEFAULT_CASES).map((text) => {
  const match = /^(uws|node-http):(\d+)x(\d+)$/.exec(text);
  if (!match) {
    throw new Error(`bench: a case is <uws|node-http>:<connections>x<namespaces>, got '${text}'`);
  }
  return {
    transport: match[1] as string,
    connections: Number(match[2]),
    namespaces: Number(match[3]),
  };
});
const calls = Number(args.get("calls") ?? 50);
const pollSeconds = Number(args.get("poll") ?? 10);
const reps = Number(args.get("reps") ?? 1);
const jsonOut = args.get("json") ?? fileURLToPath(new URL("./overview.json", import.meta.url));

const script = fileURLToPath(new URL("./overview-server.ts", import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const started = Date.now();
const results: CaseResult[][] = cases.map(() => []);
for (let rep = 1; rep <= reps; rep += 1) {
  for (const [index, c] of cases.entries()) {
    log(`rep ${rep}: ${c.transport} ${c.connections} connections × ${c.namespaces} namespaces`);
    const output = execFileSync(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        script,
        c.transport,
        String(c.connections),
        String(c.namespaces),
        String(calls),
        String(pollSeconds),
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 16 * 2 ** 20 },
    );
    results[index]!.push(JSON.parse(output.trim().split("\n").at(-1) ?? "{}") as CaseResult);
  }
}
const env = environment();
writeFileSync(jsonOut, `${JSON.stringify({ environment: env, calls, reps, results }, null, 2)}\n`);

// Every statistic is the median over repetitions of that repetition's statistic.
type Stat = "median" | "p95" | "cpuMedian" | "cpuP95";
const stat = (index: number, name: string, which: Stat) =>
  median(
    results[index]!.map((r) => r.operations.find((entry) => entry.name === name)?.[which] ?? NaN),
  );
const ms = (
  value: number,
) => (value >= 10 ? value.toFixed(0) : value >= 1 ? value.toFixed(1) : value.toFixed(2));
const thousands = (value: number) => value.toLocaleString("en-US");
const first = results.map((list) => list[0]!);
const header = first.map((r) =>
  `${r.transport}, ${thousands(r.sockets)} sockets (${thousands(r.connections)} × ${r.namespaces})`
);

function table(title: string): string[] {
  const names = first[0]!.operations.map((entry) => entry.name);
  return [
    `| ${title} | ${header.join(" | ")} |`,
    `| --- | ${header.map(() => "---:").join(" | ")} |`,
    ...names.map((name) =>
      `| ${name.replaceAll("|", "\\|")} | ${
        first.map((_, i) =>
          `${ms(stat(i, name, "median"))} / ${ms(stat(i, name, "p95"))} (${
            ms(stat(i, name, "cpuMedian"))
          }, p95 ${ms(stat(i, name, "cpuP95"))})`
        ).join(" | ")
      } |`
    ),
  ];
}

const out: string[] = [];
out.push(
  `Run on ${env.date} (${
    ((Date.now() - started) / 60_000).toFixed(1)
  } min): \`node --import tsx bench/operations/overview.ts ${
    process.argv.slice(2).join(" ")
  }\`. ${calls} timed calls of each (after 5 untimed), interleaved; ${reps} repetition(s), each case a fresh server process.`,
  "",
  `- CPU: ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB; ${env.os}; 20,000 file descriptors per process`,
  `- Node ${env.node}; ${
    Object.entries(env.packages).map(([name, version]) => `${name} ${version}`).join(", ")
  }`,
  `- strapi-io commit ${env.commit}${
    env.dirty ? " plus uncommitted changes in lib/ or bench/" : ""
  }`,
  `- other processes' load during the timed calls (cores): ${
    first.map((_, i) =>
      `${header[i]}: ${median(results[i]!.map((x) => x.foreignCores.during)).toFixed(2)}`
    ).join("; ")
  }`,
  "",
  "Cells: wall-clock median / p95 (CPU-time median, p95), ms per call.",
  "",
  ...table("`$io` call"),
  "",
  `| event-loop delay, admin polling every 2 s (\`overview()\` + \`listConnections()\` page 1) | ${
    header.join(" | ")
  } |`,
  `| --- | ${header.map(() => "---:").join(" | ")} |`,
  `| idle (no polling): p99 / max, ms | ${
    first.map((_, i) => {
      const idle = results[i]!.map((r) => r.loopDelay.idle);
      return `${ms(median(idle.map((d) => d?.p99 ?? NaN)))} / ${
        ms(median(idle.map((d) => d?.max ?? NaN)))
      }`;
    }).join(" | ")
  } |`,
  `| polling: p99 / max, ms | ${
    first.map((_, i) => {
      const polled = results[i]!.map((r) => r.loopDelay.polled);
      return `${ms(median(polled.map((d) => d?.p99 ?? NaN)))} / ${
        ms(median(polled.map((d) => d?.max ?? NaN)))
      }`;
    }).join(" | ")
  } |`,
  `| polling: longest poll (both calls), wall / CPU, ms | ${
    first.map((_, i) => {
      const polled = results[i]!.map((r) => r.loopDelay.polled);
      return `${ms(median(polled.map((d) => d?.pollWallMax ?? NaN)))} / ${
        ms(median(polled.map((d) => d?.pollCpuMax ?? NaN)))
      }`;
    }).join(" | ")
  } |`,
  `| rooms in the adapters | ${first.map((r) => thousands(r.rooms)).join(" | ")} |`,
  `| heap used / RSS, MiB | ${
    first.map((r) => `${r.heapUsedMiB.toFixed(0)} / ${r.rssMiB.toFixed(0)}`).join(" | ")
  } |`,
  `| heap after a full GC, per socket (KiB): all / the socket index's share | ${
    first.map((r) =>
      r.heapConnectedMiB === null || r.heapEmptyMiB === null || r.indexBytesPerSocket === null
        ? "–"
        : `${(((r.heapConnectedMiB - r.heapEmptyMiB) * 1024) / r.sockets).toFixed(2)} / ${
          (r.indexBytesPerSocket / 1024).toFixed(2)
        }`
    ).join(" | ")
  } |`,
  `| time to connect every socket, s | ${
    first.map((r) => r.connectSeconds.toFixed(1)).join(" | ")
  } |`,
  "",
);
process.stdout.write(out.join("\n"));
