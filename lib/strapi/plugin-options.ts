/**
 * The Strapi plugin's config (`config/plugins` → `io.config`): the core options of `createSocketIO()` plus
 * what only makes sense inside Strapi (content events, client events, hooks, the emit permission rule).
 * One type, one resolver: Strapi's config validator calls {@link resolvePluginOptions}, so a bad value
 * aborts boot with a message naming the key and the value.
 *
 * @module
 */
import { expectKnownKeys, expectPlainObject, fail } from "../config-checks.ts";
import { CORE_KEYS, type IoOptions, type ResolvedIoOptions, resolveOptions } from "../options.ts";
import type { IoSocket } from "../types.ts";
import { isContentTypeUid } from "../validate.ts";

/** The document actions that become content events (`<singularName>:<action>`). */
export const CONTENT_EVENT_ACTIONS = [
  "create",
  "update",
  "delete",
  "publish",
  "unpublish",
] as const;
/** A document action that becomes a content event. */
export type ContentEventAction = (typeof CONTENT_EVENT_ACTIONS)[number];

/** Who receives a content type's events. */
export const EMIT_PERMISSIONS = ["read", "action"] as const;
/**
 * `read`: a role or token receives `article:*` when it may `find` or `findOne` articles (what it could read
 * over REST). `action`: only when it holds the permission of the action itself (`create`, `update`,
 * `delete`; `publish`/`unpublish` need `update`) — the rule of older plugins, for migrating apps.
 */
export type EmitPermission = (typeof EMIT_PERMISSIONS)[number];

/** Which relations a content event's document carries: Strapi's `populate` parameter, as REST takes it. */
export type PopulateOption = "*" | readonly string[] | Record<string, unknown>;

/** Content events of one content type. */
export interface ContentTypeEvents {
  /** The content-type uid, e.g. `"api::article.article"`. */
  uid: string;
  /** Actions that become events. @default all of {@link CONTENT_EVENT_ACTIONS} */
  actions?: readonly ContentEventAction[];
  /** Relations to include in the document (each audience still only sees what it may read). @default none, as REST without `populate` */
  populate?: PopulateOption;
  /** Under Draft & Publish, also push changes to drafts (`publishedAt: null`). @default false */
  drafts?: boolean;
}

/** What a client-event handler receives first. */
export interface ClientEventContext<S = unknown, IO = unknown> {
  strapi: S;
  io: IO;
}

/**
 * A handler for a client event. `connection` runs when a socket connects, `disconnect` when it leaves (with
 * the reason); any other name is a Socket.IO event the client emits. When the client sent an
 * acknowledgement and the handler throws, the client is answered `{ success: false, error }`.
 */
// `any` by default: an app's handlers type `strapi`, `io` and their arguments as they see fit.
// deno-lint-ignore no-explicit-any
export interface ClientEventHandler<S = any, IO = any> {
  name: string;
  // deno-lint-ignore no-explicit-any
  handler(context: ClientEventContext<S, IO>, socket: IoSocket, ...args: any[]): unknown;
}

/** Hooks into the plugin's start. */
// deno-lint-ignore no-explicit-any
export interface PluginHooks<S = any, IO = any> {
  /** Runs once `$io` exists and before its transport accepts the first connection (plug an adapter here). */
  init?(context: { strapi: S; $io: IO }): void | Promise<void>;
}

/** Everything `config/plugins` → `io.config` accepts. Every key is optional. */
export interface PluginOptions extends IoOptions {
  /**
   * Content types whose changes are pushed: uids, or objects to choose actions, populate and drafts.
   * @default every content type of the app's `api::` namespace, all actions, no populate, no drafts
   */
  contentTypes?: ReadonlyArray<string | ContentTypeEvents>;
  /** Handlers for client events (and `connection` / `disconnect`). @default [] */
  events?: readonly ClientEventHandler[];
  /** Hooks into the plugin's start. @default {} */
  hooks?: PluginHooks;
  /** Which permission a role or token needs to receive a content type's events. @default "read" */
  emitPermission?: EmitPermission;
}

/** One content type's events, with every default applied. */
export interface ResolvedContentTypeEvents {
  uid: string;
  actions: ReadonlySet<ContentEventAction>;
  populate: PopulateOption | undefined;
  drafts: boolean;
}

/** Plugin options with every default applied. */
export interface ResolvedPluginOptions {
  core: ResolvedIoOptions;
  /** `"api"`: every `api::` content type, with the defaults. */
  contentTypes: ResolvedContentTypeEvents[] | "api";
  events: ClientEventHandler[];
  hooks: PluginHooks;
  emitPermission: EmitPermission;
}

/** Client events strapi-io handles itself; a configured handler may not take these names. */
const RESERVED_EVENTS = [
  "subscribe-entity",
  "unsubscribe-entity",
  "get-entity-subscriptions",
  "connect",
  "connect_error",
  "disconnecting",
  "newListener",
  "removeListener",
  "error",
];

/** The keys only the plugin knows (the others are the core's `CORE_KEYS`). */
const PLUGIN_KEYS = ["contentTypes", "events", "hooks", "emitPermission"] as const;

/** The plugin's defaults, in one place. */
const PLUGIN_DEFAULTS = { emitPermission: "read", drafts: false } as const;

/**
 * Merges the plugin config with the defaults and validates it (the core keys through `resolveOptions`).
 * Content-type uids are checked for shape here and for existence at bootstrap, when Strapi knows them.
 * @throws {TypeError} naming the key and the value.
 */
export function resolvePluginOptions(options: PluginOptions = {}): ResolvedPluginOptions {
  expectPlainObject(options ?? {}, "(config)");
  // Checked against both lists at once, so a typo of a plugin key is named as such ('contentType' → 'contentTypes').
  expectKnownKeys(options ?? {}, [...CORE_KEYS, ...PLUGIN_KEYS], "");
  const { contentTypes, events, hooks, emitPermission, ...coreOptions } = options ?? {};
  const core = resolveOptions(coreOptions);

  const rule = emitPermission ?? PLUGIN_DEFAULTS.emitPermission;
  if (!EMIT_PERMISSIONS.includes(rule)) {
    fail("emitPermission", `one of ${EMIT_PERMISSIONS.join(", ")}`, rule);
  }

  const hookSet = hooks ?? {};
  expectPlainObject(hookSet, "hooks");
  expectKnownKeys(hookSet, ["init"], "hooks");
  if (hookSet.init !== undefined && typeof hookSet.init !== "function") {
    fail("hooks.init", "a function", hookSet.init);
  }

  return {
    core,
    contentTypes: contentTypes === undefined ? "api" : resolveContentTypes(contentTypes),
    events: resolveEvents(events ?? []),
    hooks: hookSet,
    emitPermission: rule,
  };
}

function resolveContentTypes(entries: unknown): ResolvedContentTypeEvents[] {
  if (!Array.isArray(entries)) {
    fail(
      "contentTypes",
      "an array of content-type uids or { uid, actions, populate, drafts }",
      entries,
    );
  }
  const resolved = entries.map((entry, index) =>
    resolveContentType(entry, `contentTypes[${index}]`)
  );
  const duplicate = resolved.find((entry, index) =>
    resolved.findIndex((other) => other.uid === entry.uid) !== index
  );
  if (duplicate) fail("contentTypes", "a list without duplicate uids", duplicate.uid);
  return resolved;
}

function resolveContentType(entry: unknown, key: string): ResolvedContentTypeEvents {
  const options = (typeof entry === "string" ? { uid: entry } : entry) as ContentTypeEvents;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    fail(key, "a content-type uid or { uid, actions, populate, drafts }", entry);
  }
  expectKnownKeys(options, ["uid", "actions", "populate", "drafts"], key);
  if (!isContentTypeUid(options.uid)) {
    fail(`${key}.uid`, "a content-type uid like 'api::article.article'", options.uid);
  }
  const actions = options.actions ?? CONTENT_EVENT_ACTIONS;
  if (
    !Array.isArray(actions) || actions.some((action) => !CONTENT_EVENT_ACTIONS.includes(action))
  ) {
    fail(`${key}.actions`, `an array of ${CONTENT_EVENT_ACTIONS.join(", ")}`, actions);
  }
  const { populate } = options;
  const populateOk = populate === undefined || populate === "*" ||
    (Array.isArray(populate) &&
      populate.every((field) => typeof field === "string" && field !== "")) ||
    (typeof populate === "object" && populate !== null && !Array.isArray(populate));
  if (!populateOk) {
    fail(`${key}.populate`, "'*', an array of relation names or a populate object", populate);
  }
  const drafts = options.drafts ?? PLUGIN_DEFAULTS.drafts;
  if (typeof drafts !== "boolean") fail(`${key}.drafts`, "a boolean", drafts);
  return { uid: options.uid, actions: new Set(actions), populate, drafts };
}

function resolveEvents(events: unknown): ClientEventHandler[] {
  if (!Array.isArray(events)) fail("events", "an array of { name, handler }", events);
  return events.map((event, index) => {
    const key = `events[${index}]`;
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      fail(key, "an object { name, handler }", event);
    }
    expectKnownKeys(event, ["name", "handler"], key);
    const { name, handler } = event as Partial<ClientEventHandler>;
    if (typeof name !== "string" || name === "") {
      fail(`${key}.name`, "a non-empty event name", name);
    }
    if (RESERVED_EVENTS.includes(name)) {
      fail(
        `${key}.name`,
        `a name strapi-io does not reserve (${RESERVED_EVENTS.join(", ")})`,
        name,
      );
    }
    if (typeof handler !== "function") {
      fail(`${key}.handler`, "a function ({ strapi, io }, socket, ...args) => …", handler);
    }
    return event as ClientEventHandler;
  });
}

/** Default events of a content type that is not listed explicitly (the `"api"` default). */
export function defaultContentTypeEvents(uid: string): ResolvedContentTypeEvents {
  return {
    uid,
    actions: new Set(CONTENT_EVENT_ACTIONS),
    populate: undefined,
    drafts: PLUGIN_DEFAULTS.drafts,
  };
}
