/**
 * Health and metrics as routes of Strapi's own server, for deployments on `node-http` (no port of
 * strapi-io's own): `/api/io/health/live`, `/api/io/health/ready`, `/api/io/metrics` behind the bearer token.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { eventually } from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";
const TOKEN = "strapi-scrape-token-0123";

describe("operations routes in Strapi (node-http)", () => {
  let app: BootedStrapi;

  before(async () => {
    app = await bootStrapi({
      transport: { type: "node-http" },
      metrics: { enabled: true, token: TOKEN },
      contentTypes: [ARTICLE],
    });
  });

  after(async () => {
    await app.destroy();
  });

  it("/api/io/health/live and /api/io/health/ready answer like strapi-io's own port", async () => {
    for (const [path, body] of [["live", { status: "live" }], ["ready", { status: "ready" }]]) {
      const response = await fetch(`${app.url}/api/io/health/${path}`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), body);
    }
  });

  it("/api/io/metrics needs the bearer token, then counts Strapi's content events", async () => {
    assert.equal((await fetch(`${app.url}/api/io/metrics`)).status, 401);
    const wrong = await fetch(`${app.url}/api/io/metrics`, {
      headers: { authorization: "Bearer someone-elses-token-000" },
    });
    assert.equal(wrong.status, 401);
    await app.strapi.documents(ARTICLE).create({ data: { title: "Counted" }, status: "published" });
    const series =
      'strapi_io_content_events_total{content_type="api::article.article",action="create"} 1';
    await eventually(async () => {
      const response = await fetch(`${app.url}/api/io/metrics`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(response.status, 200);
      return (await response.text()).split("\n").includes(series);
    }, "the content event is counted");
  });
});
