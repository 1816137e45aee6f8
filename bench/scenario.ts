/**
 * The one scenario every contender runs: who connects (audience, followed entity, room), what is sent
 * (a ~1 KB article with relations), and how much each connection must receive. Pure data and arithmetic,
 * shared by the runner, the server process and the load clients, so they agree on every count.
 *
 * @module
 */

/** Contenders in the order they appear in the tables. */
export const CONTENDERS = [
  "strapi-io-uws",
  "strapi-io-uws-no-recovery",
  "strapi-io-uws-metrics",
  "strapi-io-node-http",
  "strapi-io-node-http-no-recovery",
  "socketio-node-http",
  "socketio-node-http-per-role",
  "bare-uws",
] as const;
export type ContenderName = (typeof CONTENDERS)[number];

/** Workloads: `emit()` per permission set, `emitToEntity()`, `raw()` to everyone and to one room. */
export const WORKLOADS = ["emit", "entity", "raw-all", "raw-room"] as const;
export type Workload = (typeof WORKLOADS)[number];

/** `paced`: one emit per loop turn; `burst`: several emits in one turn. */
export const MODES = ["paced", "burst"] as const;
export type Mode = (typeof MODES)[number];

export const CONTENT_TYPE_UID = "api::article.article";
/** What clients receive for `emit()` and `emitToEntity()` (`<singularName>:<event>`). */
export const CONTENT_EVENT = "article:update";
export const RAW_EVENT = "tick";
/** The room of the `raw-room` workload. */
export const FEED_ROOM = "feed";
/** Every bench client connects from loopback: lift the per-address and per-node connection caps. */
export const BENCH_LIMITS = {
  connections: { maxPerAddress: 1_000_000, maxPerNode: 1_000_000 },
} as const;
/** Subscribers per entity in the `entity` workload. */
export const SUBSCRIBERS_PER_ENTITY = 5;

/**
 * A permission set: audiences (roles, API tokens) whose permissions are identical share one sanitized
 * copy. `fields` are the document attributes it may read; `author` says which author fields it may read
 * (`null`: it may not read the users relation at all).
 */
export interface PermissionSet {
  name: string;
  audiences: readonly string[];
  fields: readonly string[];
  author: readonly string[] | null;
}

const PUBLIC_FIELDS = [
  "seq",
  "id",
  "documentId",
  "title",
  "slug",
  "summary",
  "body",
  "tags",
  "locale",
  "readingTime",
  "publishedAt",
  "createdAt",
  "updatedAt",
  "category",
];

/** Eight audiences in three permission sets, as a Strapi app with a few custom roles and tokens has. */
export const PERMISSION_SETS: readonly PermissionSet[] = [
  {
    name: "read-public",
    audiences: ["role:public", "role:viewer", "token:read-only"],
    fields: PUBLIC_FIELDS,
    author: null,
  },
  {
    name: "read-with-author",
    audiences: ["role:authenticated", "role:author", "role:moderator"],
    fields: [...PUBLIC_FIELDS, "author"],
    author: ["id", "documentId", "username"],
  },
  {
    name: "read-all",
    audiences: ["role:editor", "token:full-access"],
    fields: [...PUBLIC_FIELDS, "author", "wordCount"],
    author: ["id", "documentId", "username", "email"],
  },
];

export const AUDIENCES: readonly string[] = PERMISSION_SETS.flatMap((set) => set.audiences);

/** The stored article (as Strapi's document service returns it), without its `seq`. ~1 KB as JSON. */
export const ARTICLE: Readonly<Record<string, unknown>> = {
  id: 4211,
  documentId: "k3v9q2m8x7l1p0z5r4t6w8y2",
  title: "How we moved our newsroom to realtime updates",
  slug: "how-we-moved-our-newsroom-to-realtime-updates",
  summary:
    "Editors publish, readers see it a moment later: the story of replacing polling with pushed events.",
  body:
    "For years our homepage polled the API every thirty seconds. It worked, until traffic grew and most of those " +
    "requests returned nothing new. We switched to pushed content events: when an editor publishes, every open page " +
    "receives the article it may read, already shaped like the REST response. Readers see corrections within a " +
    "second, and the API serves a fraction of the requests it used to. This post explains the permission model.",
  tags: ["engineering", "realtime", "strapi"],
  locale: "en",
  readingTime: 6,
  wordCount: 1480,
  internalNotes: "Legal approved on 2026-11-02; do not mention the vendor by name.",
  publishedAt: "2026-11-20T09:12:44.118Z",
  createdAt: "2026-11-18T15:02:10.451Z",
  updatedAt: "2026-11-20T09:12:44.118Z",
  category: {
    id: 12,
    documentId: "c8s2n4h6j1k3l5m7n9p0q2r4",
    name: "Engineering",
    slug: "engineering",
  },
  author: {
    id: 77,
    documentId: "u1a3c5e7g9i2k4m6o8q0s2u4",
    username: "mheller",
    email: "m.heller@example.com",
    provider: "local",
    blocked: false,
  },
};

/** The document of event `seq`: `seq` first, so load clients find it in the first bytes of a frame. */
export function articleFor(seq: number): Record<string, unknown> {
  return { seq, ...ARTICLE };
}

/** What one connection is: its audience, the entity it follows, whether it is in {@link FEED_ROOM}. */
export interface ConnectionRole {
  audience: string;
  entity: string;
  inFeed: boolean;
}

export function entityCount(connections: number): number {
  return Math.max(1, Math.floor(connections / SUBSCRIBERS_PER_ENTITY));
}

export function entityId(index: number): string {
  return `doc-${index}`;
}

/** Connection `index` of `connections`: audiences round-robin, five followers per entity, every other one in the feed. */
export function connectionRole(index: number, connections: number): ConnectionRole {
  return {
    audience: AUDIENCES[index % AUDIENCES.length] as string,
    entity: entityId(index % entityCount(connections)),
    inFeed: index % 2 === 0,
  };
}

/** Query string a load client puts on its WebSocket URL so every contender knows the connection's role. */
export function connectionQuery(role: ConnectionRole): string {
  return `aud=${encodeURIComponent(role.audience)}&ent=${encodeURIComponent(role.entity)}&feed=${
    role.inFeed ? 1 : 0
  }`;
}

/** The entity event `seq` of the `entity` workload goes to: round-robin over every entity. */
export function entityOfEvent(seq: number, connections: number): string {
  return entityId(seq % entityCount(connections));
}

/** How many messages connection `index` must receive when a phase sends `events` events. */
export function expectedMessages(
  workload: Workload,
  events: number,
  index: number,
  connections: number,
): number {
  switch (workload) {
    case "emit":
    case "raw-all":
      return events;
    case "raw-room":
      return connectionRole(index, connections).inFeed ? events : 0;
    case "entity": {
      const entities = entityCount(connections);
      const mine = index % entities;
      return mine < events ? Math.floor((events - 1 - mine) / entities) + 1 : 0;
    }
  }
}

/** Deliveries one event makes on average, to size phases. */
function deliveriesPerEvent(workload: Workload, connections: number): number {
  switch (workload) {
    case "emit":
    case "raw-all":
      return connections;
    case "raw-room":
      return Math.ceil(connections / 2);
    case "entity":
      return SUBSCRIBERS_PER_ENTITY;
  }
}

/**
 * Broadcast bursts cost about a tenth of paced sends per delivery (uWS merges each subscriber's messages
 * into one send); they get this many times more deliveries, so that their CPU reading is as long.
 */
const BURST_DELIVERY_FACTOR = 5;

/** Events a phase sends so that it makes about `deliveries` deliveries (more for broadcast bursts; a whole number of bursts). */
export function eventsFor(
  workload: Workload,
  mode: Mode,
  connections: number,
  deliveries: number,
): number {
  const burst = burstSize(workload, mode);
  const target = mode === "burst" && workload !== "entity"
    ? deliveries * BURST_DELIVERY_FACTOR
    : deliveries;
  const events = Math.max(burst * 3, Math.ceil(target / deliveriesPerEvent(workload, connections)));
  return Math.ceil(events / burst) * burst;
}

/** Emits per loop turn: 1 when paced; in bursts, 10 broadcasts or 200 entity events. */
export function burstSize(workload: Workload, mode: Mode): number {
  if (mode === "paced") return 1;
  return workload === "entity" ? 200 : 10;
}
