/**
 * A slow consumer closed with 1013 (over `transport.maxBackpressure`) is not told to refetch: it comes back
 * with its session id and last offset, and gets the rest, in order, without loss or duplicate. On both
 * transports, with a raw client that can stop reading (socket.io-client cannot).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BACKPRESSURE_CLOSE_CODE } from "../../lib/transports/backpressure.ts";
import { MARKER, startHarness, TRANSPORTS, until } from "../support/harness.ts";
import { connectPausable, nextTurn } from "../support/paused-reader.ts";

const KiB = 1024;
const CHUNKS = 40;

/** The chunk numbers in what a client received (each chunk's data starts with `<n>|`). */
function chunkNumbers(args: unknown[][]): number[] {
  return args.map(([data]) => Number(String(data).split("|", 1)[0]));
}

for (const transport of TRANSPORTS) {
  describe(`a slow consumer over ${transport}`, { timeout: 30_000 }, () => {
    it("disconnected with 1013, reconnects with its session and offset and gets the rest exactly once, in order", async () => {
      const h = await startHarness(transport, { transport: { drainTimeout: 1000 } });
      try {
        const slow = await connectPausable(h.url);
        assert.ok(slow.pid, "the CONNECT reply carries a session id");
        slow.pause();
        // 10 MB: more than loopback kernel buffers absorb plus 1 MiB, less than the hard limit.
        for (let n = 0; n < CHUNKS; n += 1) {
          await h.io.raw({ event: "chunk", data: `${n}|${"x".repeat(256 * KiB)}` });
          await nextTurn();
        }
        await until(() => h.io.stats().backpressureDisconnects === 1, "the reader is disconnected");
        slow.resume();
        assert.equal((await slow.closed).code, BACKPRESSURE_CLOSE_CODE);
        await until(
          () => h.io.stats().recovery?.sessions === 1,
          "the server kept the session",
        );

        const offset = slow.args.at(-1)?.at(-1);
        const back = await connectPausable(h.url, { pid: slow.pid, offset });
        try {
          assert.equal(back.pid, slow.pid, "the same session: recovered");
          assert.equal(back.id, slow.id, "the same socket id");
          h.io.sendPrivateMessage(back.id, MARKER, null);
          await back.waitFor(MARKER);
          const all = [...chunkNumbers(slow.args), ...chunkNumbers(back.args.slice(0, -1))];
          assert.deepEqual(all, Array.from({ length: CHUNKS }, (_, n) => n));
        } finally {
          back.ws.close();
        }
      } finally {
        await h.cleanup();
      }
    });
  });
}
