/**
 * Summarises a `.heapsnapshot` (from `BENCH_HEAP_SNAPSHOT=<dir> npm run bench`): self size and count per
 * constructor / node type, heaviest first, and per connection when `connections` is given.
 * Usage: `heap-summary.ts <file.heapsnapshot> [connections] [top]`.
 *
 * @module
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const [file, connectionsArg, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: heap-summary.ts <file.heapsnapshot> [connections] [top]");
const heap = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
const fields = heap.snapshot.meta.node_fields;
const types = heap.snapshot.meta.node_types[0];
const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((field) =>
  fields.indexOf(field)
) as [number, number, number];
const totals = new Map<string, { size: number; count: number }>();
let all = 0;
for (let i = 0; i < heap.nodes.length; i += fields.length) {
  const type = types[heap.nodes[i + typeAt] as number] ?? "?";
  const name = heap.strings[heap.nodes[i + nameAt] as number] ?? "?";
  const key = type === "object" || type === "closure"
    ? `${type} ${name}`
    : type === "string" || type === "concatenated string" || type === "sliced string"
    ? "(strings)"
    : `(${type}) ${
      type === "array" || type === "hidden" || type === "code" ? name.slice(0, 40) : ""
    }`;
  const size = heap.nodes[i + sizeAt] as number;
  const entry = totals.get(key) ?? { size: 0, count: 0 };
  entry.size += size;
  entry.count += 1;
  totals.set(key, entry);
  all += size;
}
const connections = Number(connectionsArg ?? 0);
console.log(
  `total ${(all / 1024 / 1024).toFixed(1)} MiB${
    connections ? `, ${(all / connections).toFixed(0)} B per connection` : ""
  }`,
);
for (
  const [key, { size, count }] of [...totals].sort((a, b) => b[1].size - a[1].size).slice(
    0,
    Number(topArg ?? 40),
  )
) {
  const per = connections
    ? `  ${(size / connections).toFixed(0).padStart(6)} B/conn  ${
      (count / connections).toFixed(2).padStart(6)
    }/conn`
    : "";
  console.log(
    `${(size / 1024).toFixed(0).padStart(9)} KiB ${String(count).padStart(8)}${per}  ${key}`,
  );
}
