/**
 * The real Strapi 5 fixture app (fixtures/app, SQLite, booted as the tests boot it) for the storm: the
 * public role may read articles and categories, and `events` published articles (~1 KB each as JSON, with
 * their category) stand for the content that changed while the clients were away. Every knex query the
 * process makes is counted.
 *
 * - `strapi-rest`: the old way — every client refetches the article list (`GET /api/articles`, the
 *   changed articles with their category, one page).
 * - `strapi-sockets`: the plugin's `$io` (uWS, recovery on); each content event is one of those articles
 *   as the plugin would send it after a change (`$io.emit()` through the Strapi policy and sanitizer),
 *   its title carrying the event's number.
 *
 * @module
 */
// Strapi objects cross this file untyped (`any`), as in test/support.
// deno-lint-ignore-file no-explicit-any
import { bootStrapi } from "../../test/support/strapi.ts";
import { grant } from "../../test/support/strapi-fixtures.ts";
import { ARTICLE as SCENARIO_ARTICLE, BENCH_LIMITS } from "../scenario.ts";
import type { StormTarget } from "./storm-ipc.ts";

const ARTICLE = "api::article.article";
const CATEGORY = "api::category.category";
/** What precedes an event's number in its frame (titles are `storm <seq>`). */
const TITLE_MARK = '"title":"storm ';

export async function startStrapiApp(
  configuration: "strapi-sockets" | "strapi-rest",
  events: number,
): Promise<StormTarget> {
  const app = await bootStrapi({
    transport: { type: "uws", port: 0, host: "127.0.0.1" },
    limits: BENCH_LIMITS,
    contentTypes: [{ uid: ARTICLE, populate: ["category"] }],
  });
  const { strapi, io } = app;
  let queries = 0;
  strapi.db.connection.on("query", () => void (queries += 1));

  await grant(app, "public", [
    `${ARTICLE}.find`,
    `${ARTICLE}.findOne`,
    `${CATEGORY}.find`,
    `${CATEGORY}.findOne`,
  ]);
  const category = await strapi.documents(CATEGORY).create({
    data: { name: "Engineering", budget: 125000 },
  });
  const body = `${SCENARIO_ARTICLE.summary} ${SCENARIO_ARTICLE.body}`;
  let first: any;
  for (let seq = 0; seq < events; seq += 1) {
    const created = await strapi.documents(ARTICLE).create({
      data: {
        title: `storm ${seq}`,
        body,
        internalNotes: SCENARIO_ARTICLE.internalNotes,
        category: category.id,
      },
      status: "published",
    });
    first ??= created;
  }
  const document = await strapi.documents(ARTICLE).findOne({
    documentId: first.documentId,
    status: "published",
    populate: ["category"],
  });

  const restUrl = `${app.url}/api/articles?populate=category&pagination[pageSize]=${events}`;
  // One request ahead (also warms Strapi up): how a complete body ends.
  const response = await fetch(restUrl);
  const text = await response.text();
  if (!response.ok) throw new Error(`bench: GET ${restUrl} answered ${response.status}: ${text}`);
  const listed = (JSON.parse(text) as { data: unknown[] }).data.length;
  if (listed !== events) {
    throw new Error(`bench: the REST list has ${listed} of ${events} articles`);
  }
  const restTail = `"total":${events}}}}`;
  if (!text.endsWith(restTail)) {
    throw new Error(`bench: unexpected REST body end: ${text.slice(-40)}`);
  }

  return {
    io,
    port: io.port,
    restUrl: configuration === "strapi-rest" ? restUrl : "",
    restTail,
    documentBytes: JSON.stringify(document).length,
    seqMark: TITLE_MARK,
    setups: () => io.server.of("/").sockets.size,
    // A fresh object per event, as the document service returns one per change.
    emit: (seq) =>
      io.emit({
        event: "update",
        schema: ARTICLE,
        data: { ...JSON.parse(JSON.stringify(document)), title: `storm ${seq}` },
      }),
    queries: () => queries,
    close: () => app.destroy(),
  };
}
