/**
 * The plugin's page in the Strapi admin panel, in a real browser: the example app (`npm start`, with its
 * admin panel built by example/build-admin.mjs, cached) runs in a child process on port 0 with a
 * temporary SQLite file; Debian's Chromium logs in as the first super admin (registered through Strapi's
 * own `POST /admin/register-admin`), watches the connection count follow real socket.io-client sockets,
 * and disconnects one with a reason. Then an admin whose role may `plugin::io.read` but not
 * `plugin::io.disconnect` sees the page without a Disconnect button, and the API refuses them (403).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { io as connect, type Socket } from "socket.io-client";
import {
  ensureAdminBuild,
  type ExampleProcess,
  launchChromium,
  startExampleProcess,
} from "../support/example-app.ts";

/** Upper bound for any one condition to come true; the test never asserts on timing. */
const WAIT_MS = 15_000;
/** A cold admin build (none cached in example/build/) takes about a minute on two cores. */
const BUILD_MS = 300_000;

const SUPER_ADMIN = { email: "super@example.com", password: "Super-admin-1", firstname: "Super" };
const READER = { email: "reader@example.com", password: "Reader-admin-1", firstname: "Reader" };

/** Calls the admin API (with an admin's JWT when given); resolves with the status and the JSON body. */
type AdminApi = <T = unknown>(
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; json: T }>;

function adminApi(baseUrl: string, token?: string): AdminApi {
  return async (method, path, body) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        "content-type": "application/json",
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, json: text === "" ? null : JSON.parse(text) };
  };
}

/** Logs in through Strapi's login form, then opens the plugin's page. */
async function openRealtimePage(page: Page, baseUrl: string, user: typeof SUPER_ADMIN) {
  await page.goto(`${baseUrl}/admin/auth/login`);
  await page.locator('input[name="email"]').fill(user.email);
  await page.locator('input[name="password"]').fill(user.password);
  await page.getByRole("button", { name: "Login" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/admin/auth"), { timeout: WAIT_MS });
  await page.goto(`${baseUrl}/admin/plugins/io`);
}

/** Waits until the page's connection total reads exactly `count`. */
function connectionTotal(page: Page, count: number) {
  return page.getByTestId("io-total-connections").filter({ hasText: new RegExp(`^${count}$`) })
    .waitFor({ timeout: WAIT_MS });
}

/** A public connection, resolved once connected. */
async function connectPublic(ioUrl: string): Promise<Socket> {
  const socket = connect(ioUrl, { transports: ["websocket"], reconnection: false });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", reject);
  });
  return socket;
}

describe(
  "the plugin's admin page (example app) in Chromium",
  { timeout: BUILD_MS + 90_000 },
  () => {
    let dataDir: string;
    let app: ExampleProcess | undefined;
    let browser: Browser | undefined;
    let superAdmin: AdminApi;
    const sockets: Socket[] = [];

    before(async () => {
      await ensureAdminBuild();
      dataDir = mkdtempSync(join(tmpdir(), "strapi-io-admin-"));
      app = await startExampleProcess(join(dataDir, "data.db"));
      browser = await launchChromium();
      // A fresh database has no admin: register the first one, as the admin panel's welcome form does.
      const registered = await adminApi(app.url)<{ data: { token: string } }>(
        "POST",
        "/admin/register-admin",
        {
          email: SUPER_ADMIN.email,
          password: SUPER_ADMIN.password,
          firstname: SUPER_ADMIN.firstname,
        },
      );
      assert.equal(registered.status, 200, JSON.stringify(registered.json));
      superAdmin = adminApi(app.url, registered.json.data.token);
    });

    after(async () => {
      for (const socket of sockets) socket.disconnect();
      await browser?.close();
      await app?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("a super admin sees the count follow connecting sockets and disconnects one with a reason", async () => {
      const page = await browser!.newPage();
      await openRealtimePage(page, app!.url, SUPER_ADMIN);
      await connectionTotal(page, 0);

      for (let i = 0; i < 3; i++) sockets.push(await connectPublic(app!.ioUrl));
      await connectionTotal(page, 3);

      const target = sockets[0]!;
      const notice = new Promise<unknown>((resolve) =>
        target.once("strapi-io:disconnect", resolve)
      );
      const closed = new Promise<string>((resolve) => target.once("disconnect", resolve));
      const row = page.locator(
        `[data-testid="io-connection-row"][data-connection-id="${target.id}"]`,
      );
      await row.getByRole("button", { name: "Disconnect" }).click();
      const dialog = page.getByRole("alertdialog");
      await dialog.getByLabel("Reason").fill("Closed by the admin page test");
      await dialog.getByRole("button", { name: "Disconnect" }).click();

      assert.deepEqual(await notice, { reason: "Closed by the admin page test" });
      assert.equal(await closed, "io server disconnect");
      await connectionTotal(page, 2);

      // The search (debounced, applied by the server) narrows the list to one connection.
      const rows = page.getByTestId("io-connection-row");
      await page.getByLabel("Search connections").fill(sockets[2]!.id!);
      await rows.filter({ hasNotText: sockets[2]!.id! }).first().waitFor({
        state: "detached",
        timeout: WAIT_MS,
      });
      assert.equal(await rows.count(), 1);
      assert.equal(await rows.first().getAttribute("data-connection-id"), sockets[2]!.id);
      await page.close();
    });

    it("an admin without plugin::io.disconnect sees no Disconnect button, and the API answers 403", async () => {
      const role = await superAdmin<{ data: { id: number } }>("POST", "/admin/roles", {
        name: "Realtime readers",
        description: "may read the realtime page, not disconnect",
      });
      assert.equal(role.status, 201, JSON.stringify(role.json));
      const roleId = role.json.data.id;
      const permissions = await superAdmin("PUT", `/admin/roles/${roleId}/permissions`, {
        permissions: [{ action: "plugin::io.read", subject: null, properties: {}, conditions: [] }],
      });
      assert.equal(permissions.status, 200, JSON.stringify(permissions.json));
      // Strapi's invitation flow: the user is created with a registration token, then registers with it.
      const created = await superAdmin<{ data: { registrationToken: string } }>(
        "POST",
        "/admin/users",
        {
          email: READER.email,
          firstname: READER.firstname,
          roles: [roleId],
        },
      );
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const registered = await adminApi(app!.url)<{ data: { token: string } }>(
        "POST",
        "/admin/register",
        {
          registrationToken: created.json.data.registrationToken,
          userInfo: { firstname: READER.firstname, password: READER.password },
        },
      );
      assert.equal(registered.status, 200, JSON.stringify(registered.json));

      const page = await browser!.newPage();
      await openRealtimePage(page, app!.url, READER);
      await connectionTotal(page, 2);
      const rows = page.getByTestId("io-connection-row");
      await rows.first().waitFor({ timeout: WAIT_MS });
      assert.equal(await rows.count(), 2);
      assert.equal(await page.getByRole("button", { name: "Disconnect" }).count(), 0);

      // One connection per page: page 2 of 2, with a link back to page 1.
      await page.goto(`${app!.url}/admin/plugins/io?page=2&pageSize=1`);
      await page.getByRole("link", { name: "Go to page 1" }).waitFor({ timeout: WAIT_MS });
      assert.equal(await rows.count(), 1);
      await page.close();

      const reader = adminApi(app!.url, registered.json.data.token);
      const refused = await reader("POST", `/io/connections/${sockets[1]!.id}/disconnect`, {
        reason: "Not allowed",
      });
      assert.equal(refused.status, 403, JSON.stringify(refused.json));
      assert.equal(sockets[1]!.connected, true);
    });
  },
);
