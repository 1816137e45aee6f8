/**
 * The cost of Strapi's own content-API output sanitizer inside `strapi.$io.emit()`, with the real Strapi
 * 5.54.0 fixture app (fixtures/app) booted once in this process, uWS transport on 127.0.0.1, port 0.
 * The main bench (`npm run bench`) uses a bench policy shaped like the Strapi one; this puts the real
 * sanitizer's cost per permission set on record.
 *
 *   node --import tsx bench/strapi/emit-cost.ts
 *
 * Measures one awaited `emit({ event: "update", schema: "api::article.article", data })` of a ~1 KB article
 * (populated category and author) with one socket.io-client socket in each audience (audiences nobody
 * listens to are not sanitized for):
 *   (a) 1 audience: the public role;
 *   (b) 16 audiences (roles) sharing ONE permission set (identical permissions);
 *   (c) 16 audiences in 16 DIFFERENT permission sets (the same read permissions plus one harmless extra
 *       action each, so the sets differ but every copy needs the same sanitizing work).
 * Every role reads articles and categories, not users: each copy
 * drops `internalNotes`, the category's private `budget` and the author relation.
 * Also times `strapi.contentAPI.sanitize.output` on the same document for one permission set, directly.
 * Each emit is timed alone (hrtime around the awaited call); after each one, the run waits until every
 * socket has the event, so client-side decoding never overlaps a measured emit. The three scenarios run in
 * short interleaved rounds (a, b, c, a, …) and ratios are also given paired per round, because a shared
 * VM's speed can change by 2× from one second to the next. Checks that each scenario makes the expected
 * number of sanitized copies (1, 1, 16). Takes ~25 s; prints a Markdown report as the last lines of stdout
 * (after Strapi's own log lines); results on record in bench/strapi/RESULTS.md.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Socket as ClientSocket } from "socket.io-client";
import { Audiences } from "../../lib/strapi/audiences.ts";
import { bootStrapi } from "../../test/support/strapi.ts";
import {
  createRole,
  createUser,
  grant,
  roleId,
  socketsFor,
} from "../../test/support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";
const CATEGORY = "api::category.category";
const CONTACT = "api::contact-message.contact-message";
const HEADLINE = "api::headline.headline";
const WARMUP = 100;
/** Emits measured per scenario, in {@link ROUNDS} interleaved rounds (a, b, c, a, b, c, …) so drift hits all three alike. */
const EMITS = 300;
const ROUNDS = 15;
const ROUND_WARMUP = 10;
/** Direct sanitizer calls per round (one set), and batches of 16 sets per round. */
const SANITIZE_RUNS = 60;
const SANITIZE_BATCHES = 10;
const AUDIENCES = 16;
/** What every measured role may do: read articles and categories (not users). */
const READ = [`${ARTICLE}.find`, `${ARTICLE}.findOne`, `${CATEGORY}.find`];
/** One extra action per role in (c): none of them changes what an article payload may show. */
const EXTRA = [
  ...["find", "findOne", "create", "update", "delete"].map((action) => `${CONTACT}.${action}`),
  ...["find", "findOne", "create", "update", "delete"].map((action) => `${HEADLINE}.${action}`),
  ...["findOne", "create", "update", "delete"].map((action) => `${CATEGORY}.${action}`),
  ...["create", "update"].map((action) => `${ARTICLE}.${action}`),
];
if (EXTRA.length !== AUDIENCES) throw new Error("need one distinct extra action per role");

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const summary = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) };
};
const fmt = (us: number) => (us >= 100 ? us.toFixed(0) : us.toFixed(1));
const range = (values: number[]) => `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `check()` holds; bounded. */
async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const app = await bootStrapi({
  transport: { type: "uws", port: 0, host: "127.0.0.1" },
  contentTypes: [{ uid: ARTICLE, populate: ["category", "author"] }],
});
const { strapi, io } = app;
const opened: Array<ReturnType<typeof socketsFor>> = [];
let report = "";

try {
  // Roles: public (a); 16 identical roles (b); 16 roles differing by one extra action each (c).
  await grant(app, "public", READ);
  const same: string[] = [];
  const distinct: string[] = [];
  for (let i = 0; i < AUDIENCES; i += 1) {
    await createRole(app, `bench-same-${i}`, READ);
    same.push(`bench-same-${i}`);
    await createRole(app, `bench-distinct-${i}`, [...READ, EXTRA[i]!]);
    distinct.push(`bench-distinct-${i}`);
  }
  const sameJwts = await Promise.all(same.map(async (role) => (await createUser(app, role)).jwt));
  const distinctJwts = await Promise.all(
    distinct.map(async (role) => (await createUser(app, role)).jwt),
  );

  // The document: an article with a category and an author, created and read back through the Document Service.
  const author = await createUser(app, "authenticated");
  const category = await strapi.documents(CATEGORY).create({
    data: { name: "Infrastructure", budget: 125000 },
  });
  const body =
    "Realtime updates for a content API come down to three questions: who may receive an event, what each receiver may see, and how much it costs to tell them. "
      .repeat(4);
  const created = await strapi.documents(ARTICLE).create({
    data: {
      title: "Sanitizing content events once per permission set",
      body,
      internalNotes: "not for readers",
      category: category.id,
      author: author.id,
    },
    status: "published",
  });
  const data = await strapi.documents(ARTICLE).findOne({
    documentId: created.documentId,
    status: "published",
    populate: ["category", "author"],
  });
  if (!data?.category || !data?.author) {
    throw new Error("the article must carry its category and author");
  }
  const documentBytes = Buffer.byteLength(JSON.stringify(data));

  /** Connects one socket per auth, runs warm-up + measured emits, disconnects; µs per emit. */
  // deno-lint-ignore no-inner-declarations -- uses this run's app and sockets
  async function scenario(
    auths: Array<Record<string, unknown> | undefined>,
    warmup: number,
    emits: number,
  ): Promise<{ samples: number[]; copies: number; payloadBytes: number }> {
    const sockets = socketsFor(app);
    opened.push(sockets);
    const clients: ClientSocket[] = [];
    for (const auth of auths) clients.push(await sockets.connect(auth));
    const counts = clients.map(() => 0);
    let payloadBytes = 0;
    clients.forEach((client, i) =>
      client.on("article:update", (payload: unknown) => {
        counts[i]! += 1;
        if (i === 0) payloadBytes = Buffer.byteLength(JSON.stringify(payload));
      })
    );
    let sent = 0;
    const emitOnce = async (): Promise<number> => {
      const started = process.hrtime.bigint();
      await io.emit({ event: "update", schema: ARTICLE, data });
      const us = Number(process.hrtime.bigint() - started) / 1000;
      sent += 1;
      await until(
        () => counts.every((count) => count === sent),
        "every socket to receive the event",
      );
      return us;
    };
    // One checked emit: how many sanitized copies it makes (wrapping the sanitizer for this emit only).
    const sanitizeApi = strapi.contentAPI.sanitize;
    const original = sanitizeApi.output;
    let copies = 0;
    sanitizeApi.output = (...args: unknown[]) => {
      copies += 1;
      return original.apply(sanitizeApi, args);
    };
    try {
      await emitOnce();
    } finally {
      sanitizeApi.output = original;
    }
    for (let i = 0; i < warmup; i += 1) await emitOnce();
    const samples: number[] = [];
    for (let i = 0; i < emits; i += 1) samples.push(await emitOnce());
    sockets.closeAll();
    await sleep(300); // let the server drop these sockets' rooms before the next scenario
    return { samples, copies, payloadBytes };
  }

  const scenarios = {
    a: [undefined],
    b: sameJwts.map((token) => ({ token })),
    c: distinctJwts.map((token) => ({ token })),
  };
  type Name = keyof typeof scenarios;
  const names = Object.keys(scenarios) as Name[];
  const expectedCopies: Record<Name, number> = { a: 1, b: 1, c: AUDIENCES };
  const results = Object.fromEntries(
    names.map((
      name,
    ) => [name, {
      samples: [] as number[],
      copies: 0,
      payloadBytes: 0,
      roundMedians: [] as number[],
    }]),
  );
  for (const name of names) await scenario(scenarios[name], WARMUP, 0); // warm-up: JIT, the sanitizer's per-set caches
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const name of names) {
      const result = await scenario(scenarios[name], ROUND_WARMUP, EMITS / ROUNDS);
      const into = results[name]!;
      into.samples.push(...result.samples);
      into.roundMedians.push(summary(result.samples).median);
      if (result.copies !== expectedCopies[name]) {
        throw new Error(
          `(${name}) made ${result.copies} sanitized copies, expected ${expectedCopies[name]}`,
        );
      }
      into.copies = result.copies;
      into.payloadBytes = result.payloadBytes;
    }
  }
  const { a, b, c } = results as Record<Name, NonNullable<(typeof results)[string]>>;
  /** Median over rounds of the per-round ratio: a round is short, so both sides saw the same machine. */
  const pairedRatio = (x: number[], y: number[]) =>
    summary(x.map((value, i) => value / y[i]!)).median;

  // Strapi's sanitizer alone, on the same document, for one permission set (the plugin's own, for role bench-same-0).
  const audiences = new Audiences(strapi, {
    debug() {},
    info() {},
    warn: console.warn,
    error: console.error,
  });
  const snapshot = await audiences.current();
  const set = snapshot.audiences.get(`role:${await roleId(app, "bench-same-0")}`)!.set;
  const contentType = strapi.contentType(ARTICLE);
  const sanitized = await strapi.contentAPI.sanitize.output(data, contentType, { auth: set.auth });
  // The same, for the 16 sets of (c) at once, as emit() runs them (Promise.all): µs per batch of 16.
  const distinctSets = await Promise.all(
    distinct.map(async (role) => snapshot.audiences.get(`role:${await roleId(app, role)}`)!.set),
  );
  if (new Set(distinctSets.map((s) => s.key)).size !== AUDIENCES) {
    throw new Error("the (c) roles must be 16 different permission sets");
  }
  const sanitizeOnce = async () => {
    const started = process.hrtime.bigint();
    await strapi.contentAPI.sanitize.output(data, contentType, { auth: set.auth });
    return Number(process.hrtime.bigint() - started) / 1000;
  };
  const sanitizeAll = async () => {
    const started = process.hrtime.bigint();
    await Promise.all(
      distinctSets.map((s) =>
        strapi.contentAPI.sanitize.output(data, contentType, { auth: s.auth })
      ),
    );
    return Number(process.hrtime.bigint() - started) / 1000;
  };
  for (let i = 0; i < WARMUP; i += 1) await sanitizeOnce();
  for (let i = 0; i < WARMUP / 10; i += 1) await sanitizeAll();
  const sanitizeSamples: number[] = [];
  const sanitizeAllSamples: number[] = [];
  const perCopyRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const once: number[] = [];
    const all: number[] = [];
    for (let i = 0; i < SANITIZE_RUNS; i += 1) once.push(await sanitizeOnce());
    for (let i = 0; i < SANITIZE_BATCHES; i += 1) all.push(await sanitizeAll());
    sanitizeSamples.push(...once);
    sanitizeAllSamples.push(...all);
    perCopyRatios.push(summary(all).median / AUDIENCES / summary(once).median);
  }

  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ??
    "unknown";
  const cores = readFileSync("/proc/cpuinfo", "utf8").match(/^processor\s*:/gm)?.length ?? 0;
  const git = (args: string[]) => execFileSync("git", args, { encoding: "utf8" }).trim();
  const commit = git(["rev-parse", "--short", "HEAD"]);
  const dirty = git(["status", "--porcelain", "--", "lib", "bench", "test/support"]) !== "";
  const strapiVersion = createRequire(import.meta.url)("@strapi/strapi/package.json")
    .version as string;

  const sa = summary(a.samples);
  const sb = summary(b.samples);
  const sc = summary(c.samples);
  const ss = summary(sanitizeSamples);
  const s16 = summary(sanitizeAllSamples);
  const lines = [
    `Run on ${new Date().toISOString()}: \`node --import tsx bench/strapi/emit-cost.ts\`.`,
    "",
    `- CPU: ${cpu}, ${cores} cores; Node ${process.version}; Strapi ${strapiVersion} (fixtures/app, SQLite); uWS transport on 127.0.0.1`,
    `- strapi-io commit ${commit}${
      dirty ? " plus uncommitted changes in lib/, bench/ or test/support/" : ""
    }`,
    `- document: ${documentBytes} B as JSON (populated category and author); payload each socket gets: ${a.payloadBytes} B`,
    `- per scenario: ${WARMUP} warm-up emits, then ${EMITS} measured in ${ROUNDS} interleaved rounds (a, b, c, a, …; sockets reconnected and ${ROUND_WARMUP} unmeasured emits at each round); each emit timed alone (awaited), deliveries awaited between emits`,
    "- paired ratio: the median over rounds of (scenario's round median ÷ (a)'s round median), robust to the machine's speed changing between rounds",
    "",
    "| scenario | sanitized copies per emit | median µs/emit | p90 µs/emit | median ÷ (a) | paired ratio ÷ (a) | round medians µs (min–max) |",
    "|---|---:|---:|---:|---:|---:|---|",
    `| (a) 1 audience (public role) | ${a.copies} | ${fmt(sa.median)} | ${
      fmt(sa.p90)
    } | 1.00× | 1.00× | ${range(a.roundMedians)} |`,
    `| (b) 16 audiences, 1 permission set | ${b.copies} | ${fmt(sb.median)} | ${fmt(sb.p90)} | ${
      (sb.median / sa.median).toFixed(2)
    }× | ${pairedRatio(b.roundMedians, a.roundMedians).toFixed(2)}× | ${range(b.roundMedians)} |`,
    `| (c) 16 audiences, 16 permission sets | ${c.copies} | ${fmt(sc.median)} | ${fmt(sc.p90)} | ${
      (sc.median / sa.median).toFixed(2)
    }× | ${pairedRatio(c.roundMedians, a.roundMedians).toFixed(2)}× | ${range(c.roundMedians)} |`,
    "",
    `Strapi's \`contentAPI.sanitize.output\` alone, this document, one permission set (${
      ROUNDS * SANITIZE_RUNS
    } awaited calls): median ${fmt(ss.median)} µs, p90 ${fmt(ss.p90)} µs; the copy keeps ${
      Object.keys(sanitized).join(", ")
    }.`,
    "",
    `The same for the 16 permission sets of (c) at once (\`Promise.all\`, as \`emit()\` runs them; ${
      ROUNDS * SANITIZE_BATCHES
    } batches, interleaved with the single calls): median ${fmt(s16.median)} µs, p90 ${
      fmt(s16.p90)
    } µs per batch (${fmt(s16.median / AUDIENCES)} µs per copy; paired per-copy ÷ single ${
      summary(perCopyRatios).median.toFixed(2)
    }×).`,
    "",
    `Marginal cost of one more permission set in \`emit()\`, from (c) and (a): ${
      fmt((sc.median - sa.median) / (AUDIENCES - 1))
    } µs.`,
  ];
  report = lines.join("\n");
} finally {
  for (const sockets of opened) sockets.closeAll();
  await app.destroy();
}
console.log(`\n${report}`);
