/**
 * Audiences: who can be addressed, and with which permissions. Every users-permissions role and every
 * content-API token is one audience (`role:<id>`, `token:<id>`); a connected socket belongs to exactly one.
 * Audiences holding identical permissions share one {@link PermissionSet}, so a content event is
 * sanitized once per permission set, not per audience or per socket.
 *
 * Everything here is loaded once (three queries) and kept until {@link Audiences.invalidate} — called when
 * a permission, role or token changes — so no emit queries the database for roles or tokens.
 *
 * @module
 */
import { errorMessage, type Logger } from "../logger.ts";
import type { Ability, SanitizeAuth, StrapiLike } from "./strapi-like.ts";

const ROLE_UID = "plugin::users-permissions.role";
const API_TOKEN_UID = "admin::api-token";

/** API token types, as Strapi names them. */
export type ApiTokenType = "read-only" | "full-access" | "custom";

/** Roles and tokens with identical permissions: one sanitized copy of each event serves them all. */
export interface PermissionSet {
  /** What the permissions are (`actions:…`, `read-only`, `full-access`): identical keys, identical rights. */
  readonly key: string;
  /** The audience keys holding exactly these permissions. */
  readonly audiences: string[];
  /**
   * The `auth` Strapi's content-API sanitizer is given. A new object per snapshot: the sanitizer memoises
   * relation decisions per `auth` identity, so reusing one across a permission change would serve stale ones.
   */
  readonly auth: SanitizeAuth;
  /** Whether these permissions allow `scope` (e.g. `api::article.article.find`), as Strapi's `verify` decides. */
  allows(scope: string): boolean;
}

/** One role or token. */
export interface Audience {
  /** `role:<id>` or `token:<id>`. */
  readonly key: string;
  readonly kind: "role" | "token";
  readonly id: number;
  /** The role's `type` (`public`, `authenticated`, …) or the token's type. */
  readonly label: string;
  readonly set: PermissionSet;
  /** A token's expiry (ms since epoch); absent for roles and tokens that never expire. */
  readonly expiresAt?: number;
  /** A token's stored key hash (changes when the token is regenerated). */
  readonly keyHash?: string;
}

/** All audiences at one point in time. */
export interface AudienceSnapshot {
  readonly audiences: ReadonlyMap<string, Audience>;
  readonly sets: readonly PermissionSet[];
  /** The public role's audience key, when users-permissions is installed. */
  readonly publicKey: string | undefined;
}

/** The audience key of a role or token. */
export function audienceKey(kind: "role" | "token", id: number | string): string {
  return `${kind}:${id}`;
}

/** Loads, caches and invalidates the audience snapshot. */
export class Audiences {
  readonly #strapi: StrapiLike;
  readonly #logger: Logger;
  #snapshot: Promise<AudienceSnapshot> | undefined;
  #version = 0;

  constructor(strapi: StrapiLike, logger: Logger) {
    this.#strapi = strapi;
    this.#logger = logger;
  }

  /** The current snapshot, loaded on first use (users-permissions creates its roles in its own bootstrap). */
  current(): Promise<AudienceSnapshot> {
    if (!this.#snapshot) {
      const version = this.#version;
      const loading = load(this.#strapi);
      this.#snapshot = loading;
      // A failed load is not cached: the next caller tries again.
      loading.catch((error) => {
        if (this.#snapshot === loading && this.#version === version) this.#snapshot = undefined;
        this.#logger.error(`could not load roles and API tokens: ${errorMessage(error)}`);
      });
    }
    return this.#snapshot;
  }

  /** Drops the snapshot; the next event or handshake loads a fresh one. */
  invalidate(): void {
    this.#version += 1;
    this.#snapshot = undefined;
  }
}

async function load(strapi: StrapiLike): Promise<AudienceSnapshot> {
  const engine = strapi.contentAPI.permissions.engine;
  const sets = new Map<string, PermissionSet>();
  const audiences = new Map<string, Audience>();
  const setFor = async (
    key: string,
    make: () => Promise<Omit<PermissionSet, "key" | "audiences">>,
  ) => {
    let set = sets.get(key);
    if (!set) {
      set = { key, audiences: [], ...(await make()) };
      sets.set(key, set);
    }
    return set;
  };

  let publicKey: string | undefined;
  if (strapi.contentType(ROLE_UID)) {
    const roles = await strapi.db.query(ROLE_UID).findMany({ populate: ["permissions"] });
    for (const role of roles) {
      const actions = actionsOf(role.permissions);
      const set = await setFor(
        `actions:${actions.join(",")}`,
        async () => abilitySet(await engine.generateAbility(actions.map((action) => ({ action })))),
      );
      const audience: Audience = {
        key: audienceKey("role", role.id),
        kind: "role",
        id: role.id,
        label: String(role.type),
        set,
      };
      set.audiences.push(audience.key);
      audiences.set(audience.key, audience);
      if (role.type === "public") publicKey = audience.key;
    }
  }

  const tokens = await strapi.db.query(API_TOKEN_UID).findMany({ populate: ["permissions"] });
  for (const token of tokens) {
    if (token.kind !== undefined && token.kind !== null && token.kind !== "content-api") continue;
    const type = token.type as ApiTokenType;
    const actions = actionsOf(token.permissions);
    const set = type === "custom"
      ? await setFor(
        `actions:${actions.join(",")}`,
        async () => abilitySet(await engine.generateAbility(actions.map((action) => ({ action })))),
      )
      : await setFor(type, async () => tokenTypeSet(type));
    const audience: Audience = {
      key: audienceKey("token", token.id),
      kind: "token",
      id: token.id,
      label: type,
      set,
    };
    if (token.expiresAt) {
      Object.assign(audience, { expiresAt: new Date(token.expiresAt).getTime() });
    }
    if (typeof token.accessKey === "string") Object.assign(audience, { keyHash: token.accessKey });
    set.audiences.push(audience.key);
    audiences.set(audience.key, audience);
  }
  return { audiences, sets: [...sets.values()], publicKey };
}

/** Sorted, distinct action ids of permission rows. */
function actionsOf(permissions: Array<{ action?: unknown }> | undefined): string[] {
  return [
    ...new Set(
      (permissions ?? []).map((row) => row.action).filter((action): action is string =>
        typeof action === "string"
      ),
    ),
  ].sort();
}

/**
 * A set decided by an ability (roles, custom tokens). Its `verify` is Strapi's users-permissions verify
 * for scoped checks: every scope must be allowed by the ability.
 */
function abilitySet(ability: Ability): Omit<PermissionSet, "key" | "audiences"> {
  const allows = memoize((scope) => ability.can(scope));
  const auth: SanitizeAuth = {
    strategy: {
      name: "strapi-io:ability",
      verify: (_auth, config) => requireAll(config.scope, allows),
    },
    credentials: null,
    ability,
  };
  return { auth, allows };
}

/**
 * A read-only or full-access token's set, decided by its type as Strapi's content-API token strategy
 * does: full access passes every scope; read-only passes scopes ending in `find` or `findOne`.
 */
function tokenTypeSet(type: "read-only" | "full-access"): Omit<PermissionSet, "key" | "audiences"> {
  const allows = type === "full-access"
    ? () => true
    : (scope: string) => scope.endsWith("find") || scope.endsWith("findOne");
  const auth: SanitizeAuth = {
    strategy: {
      name: `strapi-io:${type}`,
      verify: (_auth, config) => requireAll(config.scope, allows),
    },
    credentials: { type },
    ability: null,
  };
  return { auth, allows };
}

/** Throws (Strapi's sanitizer reads any throw as "denied") unless every scope is allowed. */
function requireAll(
  scope: string | string[] | undefined,
  allows: (scope: string) => boolean,
): void {
  const scopes = scope === undefined ? [] : Array.isArray(scope) ? scope : [scope];
  if (scopes.length === 0 || !scopes.every(allows)) throw new Error("Forbidden");
}

function memoize(decide: (scope: string) => boolean): (scope: string) => boolean {
  const decisions = new Map<string, boolean>();
  return (scope) => {
    let decision = decisions.get(scope);
    if (decision === undefined) {
      decision = decide(scope);
      decisions.set(scope, decision);
    }
    return decision;
  };
}
