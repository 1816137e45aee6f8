/**
 * Start and stop, twice in one process, on every transport: the port is free afterwards and no handle is left.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nextEvent, startHarness, TRANSPORTS } from "./support/harness.ts";
import { freePort, portIsFree } from "./support/ports.ts";

/** Handles that keep the process alive, by kind (timers excluded: socket.io-client leaves unref'd ones). */
function liveHandles(): string[] {
  return process.getActiveResourcesInfo().filter((kind) =>
    kind !== "Timeout" && kind !== "Immediate"
  ).sort();
}

for (const transport of TRANSPORTS) {
  describe(`lifecycle over ${transport}`, () => {
    it("starts and stops twice in one process, freeing the port and every handle", async () => {
      const baseline = liveHandles();
      for (let round = 0; round < 2; round += 1) {
        const h = await startHarness(transport);
        const client = await h.client();
        const got = nextEvent(client, "round");
        await h.io.raw({ event: "round", data: round });
        assert.equal(await got, round);
        const { port } = h.io;
        await h.cleanup();
        await h.io.close(); // idempotent
        assert.equal(
          await portIsFree(port),
          true,
          `port ${port} is free after close (round ${round})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(liveHandles(), baseline);
    });
  });
}

describe("lifecycle: a fixed port", () => {
  it("can be reused right after close", async () => {
    const first = await startHarness("uws");
    const { port } = first.io;
    await first.cleanup();
    const second = await startHarness("uws", { transport: { port } });
    assert.equal(second.io.port, port);
    await second.cleanup();
  });

  it("a second uWS server on the same port fails instead of silently sharing it", async () => {
    const port = await freePort();
    const first = await startHarness("uws", { transport: { port } });
    await assert.rejects(startHarness("uws", { transport: { port } }), /could not listen/);
    await first.cleanup();
  });

  it("fails clearly when the port is taken", async () => {
    const taken = await startHarness("node-http");
    await assert.rejects(
      startHarness("uws", { transport: { port: taken.io.port } }),
      /could not listen/,
    );
    await taken.cleanup();
  });
});
