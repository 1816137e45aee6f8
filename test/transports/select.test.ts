/**
 * transport.type "auto": uWS where it loads natively, node-http otherwise, saying which and why.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { recordingLogger, startHarness } from "../support/harness.ts";
import { createSocketIO } from "../../lib/create-socket-io.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("transport 'auto'", () => {
  it("runs uWS here and logs that it chose it and why", async () => {
    const logger = recordingLogger();
    const io = await createSocketIO({ transport: { type: "auto", port: 0, host: "127.0.0.1" } }, {
      logger,
    });
    try {
      assert.equal(io.transport, "uws");
      assert.deepEqual(
        logger.lines.filter((line) => line.level === "info").map((line) => line.message),
        [`Socket.IO transport 'uws' on its own port ${io.port} (auto: uWebSockets.js loaded)`],
      );
    } finally {
      await io.close();
    }
  });

  it("falls back to node-http when only uWS's pure-JS fallback would load, and says why", async () => {
    const script = `
      import { createSocketIO } from "./lib/create-socket-io.ts";
      const io = await createSocketIO({ transport: { port: 0, host: "127.0.0.1" } });
      console.log("TRANSPORT=" + io.transport);
      await io.close();`;
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: root,
        env: { ...process.env, UWS_USE_FALLBACK: "1" },
      }, (error, stdout, stderr) => error ? reject(error) : resolve(stdout + stderr))
    );
    assert.match(output, /TRANSPORT=node-http/);
    assert.match(output, /transport 'node-http' on port \d+ \(auto: UWS_USE_FALLBACK is set\)/);
  });

  it("'uws' configured explicitly fails loudly when uWS is unavailable (no silent fallback)", async () => {
    const script = `
      import { createSocketIO } from "./lib/create-socket-io.ts";
      try { await createSocketIO({ transport: { type: "uws", port: 0 } }); console.log("STARTED"); }
      catch (error) { console.log("ERROR=" + error.message); }`;
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: root,
        env: { ...process.env, UWS_USE_FALLBACK: "1" },
      }, (error, stdout) => error ? reject(error) : resolve(stdout))
    );
    assert.match(
      output,
      /ERROR=strapi-io: transport 'uws' is unavailable: UWS_USE_FALLBACK is set/,
    );
  });

  it("node-http creates and owns its server when none is shared", async () => {
    const h = await startHarness("node-http");
    try {
      assert.equal(h.io.transport, "node-http");
      await h.client();
    } finally {
      await h.cleanup();
    }
  });
});
