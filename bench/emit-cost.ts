/**
 * Fixed cost of one `emit()` with no clients connected: policy (sanitize once per permission set),
 * Socket.IO's broadcast operator, the adapter, encoding and the transport's publish. Run as its own
 * process: `emit-cost.ts <transport> <audiences>`; prints `{ usPerEmit }` as JSON on its last line.
 * All audiences share one permission set, as roles with identical permissions do under Strapi.
 *
 * @module
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { loadStrapiIo } from "./strapi-io-build.ts";
import type { RunningTransportType } from "../lib/transports/transport.ts";
import { createBenchPolicy } from "./bench-policy.ts";
import { median } from "./metrics.ts";
import { articleFor, CONTENT_TYPE_UID, PERMISSION_SETS } from "./scenario.ts";

const transport = process.argv[2] as RunningTransportType;
const audienceCount = Number(process.argv[3]);
const BATCH = 100;
/** Batches per measured round (0.3–1 s of emits). */
const BATCHES = Number(process.env.BENCH_EMIT_BATCHES ?? 800);
const { createSocketIO } = await loadStrapiIo();

const template = PERMISSION_SETS[1]!;
const policy = createBenchPolicy([{
  ...template,
  audiences: Array.from({ length: audienceCount }, (_, i) => `role:custom-${i}`),
}]);
const io = await createSocketIO(
  { transport: { type: transport, host: "127.0.0.1", port: 0, polling: false } },
  { policy, logger: { debug() {}, info() {}, warn: console.warn, error: console.error } },
);

/** µs per emit over `batches` batches of {@link BATCH} emits awaited in sequence, one batch per loop turn. */
async function measure(batches: number): Promise<number> {
  let totalNs = 0n;
  let seq = 0;
  for (let b = 0; b < batches; b += 1) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i += 1) {
      await io.emit({ event: "update", schema: CONTENT_TYPE_UID, data: articleFor(seq++) });
    }
    totalNs += process.hrtime.bigint() - started;
    await nextTurn();
  }
  return Number(totalNs) / 1000 / (batches * BATCH);
}

await measure(100); // warm-up: JIT, inline caches
const rounds = [await measure(BATCHES), await measure(BATCHES), await measure(BATCHES)];
await io.close();
console.log(JSON.stringify({ transport, audiences: audienceCount, usPerEmit: median(rounds) }));
