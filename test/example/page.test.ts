/**
 * The example app that `npm start` runs, in a real browser: Debian's Chromium (driven by playwright-core,
 * which never downloads a browser) opens the demo page, the page connects to strapi-io, and an article
 * created over REST appears on it, without its private field.
 *
 * The app runs as `node example/start.mjs --no-admin` in a child process (`npm run start:quick`; the
 * admin panel has its own test, admin-page.test.ts), on port 0, with a temporary SQLite file.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  type ExampleProcess,
  launchChromium,
  startExampleProcess,
} from "../support/example-app.ts";

/** Upper bound for any one condition to come true; the test never asserts on timing. */
const WAIT_MS = 15_000;

describe("example app (npm start) in Chromium", { timeout: 60_000 }, () => {
  let dataDir: string;
  let app: ExampleProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), "strapi-io-example-"));
    app = await startExampleProcess(join(dataDir, "data.db"), ["--no-admin"]);
    browser = await launchChromium();
    page = await browser.newPage();
  });

  after(async () => {
    await browser?.close();
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("the page connects to strapi-io over WebSocket", async () => {
    await page.goto(`${app!.url}/`);
    await page.waitForSelector('#status[data-state="connected"]', { timeout: WAIT_MS });
    assert.equal(await page.textContent("#status"), "connected");
  });

  it("an article created over REST appears on the page as article:create, without its private field", async () => {
    const title = `Created by the browser test ${process.pid}`;
    const secret = `private-notes-${process.pid}-${Date.now()}`;
    const response = await fetch(`${app!.url}/api/articles`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: { title, body: "Hello from REST", internalNotes: secret } }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    const { data: created } = (await response.json()) as { data: { documentId: string } };

    const received = () =>
      page.evaluate(() =>
        JSON.stringify(
          (globalThis as unknown as { strapiIoDemo: { received: unknown[] } }).strapiIoDemo
            .received,
        )
      );
    const item = page.locator("#events li", { hasText: title });
    await item.waitFor({ timeout: WAIT_MS }).catch(async (error: Error) => {
      assert.fail(
        `no event for the new article reached the page within ${WAIT_MS} ms (the page received: ${await received()}): ${error.message}`,
      );
    });
    assert.equal(await item.getAttribute("data-event"), "article:create");
    assert.equal(await item.locator(".document-id").textContent(), created.documentId);

    const everything = await received();
    assert.ok(everything.includes(created.documentId), everything);
    assert.equal(
      everything.includes("internalNotes"),
      false,
      `a private field reached the page: ${everything}`,
    );
    assert.equal(
      everything.includes(secret),
      false,
      `a private value reached the page: ${everything}`,
    );
  });

  it("the live list (a filtered subscription) shows a matching article and not another", async () => {
    const create = async (title: string) => {
      const response = await fetch(`${app!.url}/api/articles`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ data: { title } }),
      });
      assert.equal(response.status, 201, await response.clone().text());
      return ((await response.json()) as { data: { documentId: string } }).data.documentId;
    };
    const other = await create(`Not in the list ${process.pid}`);
    const matching = await create(`A LIVE article ${process.pid}`);
    const item = page.locator(`#live-list li[data-document-id="${matching}"]`);
    await item.waitFor({ timeout: WAIT_MS });
    // The other article's create event reached the page before the matching one (one socket, in order).
    await page.locator("#events li", { hasText: `Not in the list ${process.pid}` }).waitFor({
      timeout: WAIT_MS,
    });
    assert.equal(await page.locator(`#live-list li[data-document-id="${other}"]`).count(), 0);
    assert.equal(await item.textContent(), `A LIVE article ${process.pid}`);
  });
});
