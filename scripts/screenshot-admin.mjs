// Takes docs/admin-page.png: the plugin's page in the admin panel of the example app, with a few
// connections of each audience (public, users-permissions users, an API token), app and entity rooms and
// some content events. Rerun it after changing the page:
//
//   npm run build && node scripts/screenshot-admin.mjs [output.png]
//
// The app runs in this process on free ports with a throwaway SQLite file; the admin panel is built first
// if example/build/ is out of date (see example/build-admin.mjs). Needs /usr/bin/chromium.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { io as connect } from "socket.io-client";
import { startExample } from "../example/start.mjs";

const OUTPUT = process.argv[2] ?? fileURLToPath(new URL("../docs/admin-page.png", import.meta.url));
const ADMIN = { email: "admin@example.com", password: "Demo-admin-1", firstname: "Ada" };
const WAIT_MS = 30_000;

const dataDir = mkdtempSync(join(tmpdir(), "strapi-io-screenshot-"));
const app = await startExample({ port: 0, ioPort: 0, databaseFile: join(dataDir, "data.db") });
const sockets = [];
let browser;
try {
  const adminToken = (await call("POST", "/admin/register-admin", ADMIN)).data.token;
  const apiToken = (await call("POST", "/admin/api-tokens", {
    name: "Dashboard TV",
    type: "read-only",
    lifespan: null,
  }, adminToken)).data.accessKey;
  const users = [];
  for (const username of ["grace", "linus", "margaret"]) {
    const { jwt } = await call("POST", "/api/auth/local/register", {
      username,
      email: `${username}@example.com`,
      password: "Demo-user-1",
    });
    users.push(jwt);
  }

  const articles = [];
  for (const title of ["Launch day", "Release notes 2.0", "Realtime in Strapi"]) {
    articles.push((await call("POST", "/api/articles", { data: { title } })).data.documentId);
  }

  for (let i = 0; i < 4; i++) sockets.push(await open());
  for (const jwt of users) sockets.push(await open(jwt));
  for (let i = 0; i < 2; i++) sockets.push(await open(apiToken));
  sockets.forEach((socket, i) => {
    app.strapi.$io.joinRoom(socket.id, i % 3 === 0 ? "support" : "lobby");
  });
  for (const socket of sockets.slice(0, 5)) {
    await socket.emitWithAck("subscribe-entity", { uid: "api::article.article", id: articles[0] });
  }
  for (let i = 1; i <= 5; i++) await call("POST", "/api/articles", { data: { title: `Live post ${i}` } });

  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1440, height: 1500 } });
  await page.goto(`${app.url}/admin/auth/login`);
  await page.locator('input[name="email"]').fill(ADMIN.email);
  await page.locator('input[name="password"]').fill(ADMIN.password);
  await page.getByRole("button", { name: "Login" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/admin/auth"), { timeout: WAIT_MS });
  await page.goto(`${app.url}/admin/plugins/io`);
  await page.getByTestId("io-total-connections").filter({ hasText: String(sockets.length) })
    .waitFor({ timeout: WAIT_MS });
  await page.getByTestId("io-connection-row").first().waitFor({ timeout: WAIT_MS });
  // Strapi's own announcement banner (rendered with the layout, so present by now) is not our page.
  const banner = page.getByText("Introducing the new Media Library");
  if (await banner.isVisible()) await page.getByRole("button", { name: "Close the banner" }).click();
  await banner.waitFor({ state: "hidden", timeout: WAIT_MS });
  // The admin scrolls its main column, not the document: the viewport is the picture.
  await page.screenshot({ path: OUTPUT });
  console.log(`wrote ${OUTPUT}`);
} finally {
  for (const socket of sockets) socket.disconnect();
  await browser?.close();
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

/** A JSON request to the app; throws with the body on an error status. */
async function call(method, path, body, token) {
  const response = await fetch(`${app.url}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** A connected socket (public without a token). */
function open(token) {
  const socket = connect(app.ioUrl, {
    transports: ["websocket"],
    reconnection: false,
    auth: token === undefined ? {} : { token },
  });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}
