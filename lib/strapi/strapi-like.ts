/**
 * The parts of a Strapi 5 instance the plugin touches, typed structurally so that `lib/` compiles and
 * reads without Strapi's heavy types (and without importing Strapi at run time). Each member names what
 * Strapi 5.54 provides; docs/strapi-internals.md says where each one comes from.
 *
 * @module
 */
// Strapi's services, queries and document-service params are untyped at this seam (Strapi's own types are
// checked against these shapes by test/types/).
// deno-lint-ignore-file no-explicit-any
import type { Server as HttpServer } from "node:http";
import type { Logger } from "../logger.ts";

/** One attribute of a normalized schema (`createdAt`, `publishedAt`, `locale`, … are attributes too). */
export interface StrapiAttribute {
  type: string;
  /** Relations: `manyToOne`, `morphToMany`, … */
  relation?: string;
  /** Relations other than morph-to: the target content type's uid. */
  target?: string;
  /** Components: the component's uid. */
  component?: string;
  /** Dynamic zones: the uids of the components its entries may be. */
  components?: string[];
  [key: string]: unknown;
}

/** A content type or a component, as `strapi.getModel(uid)` returns it. */
export interface StrapiModel {
  uid: string;
  /** `"contentType"` or `"component"`. */
  modelType: "contentType" | "component";
  attributes: Record<string, StrapiAttribute>;
}

/** A Strapi content-type schema, as `strapi.contentType(uid)` returns it. */
export interface StrapiContentType extends StrapiModel {
  kind?: "collectionType" | "singleType";
  info: { singularName: string; pluralName?: string; displayName?: string };
  options?: { draftAndPublish?: boolean };
}

/** A CASL ability from `strapi.contentAPI.permissions.engine.generateAbility()`. */
export interface Ability {
  // CASL types a subject as required; the content API asks by action alone, as Strapi itself does.
  can(action: string, ...subject: never[]): boolean;
}

/** What Strapi's content-API sanitizer reads from `auth`: the strategy's `verify` decides relation access. */
export interface SanitizeAuth {
  strategy: {
    name: string;
    verify(auth: SanitizeAuth, config: { scope?: string | string[] }): unknown;
  };
  credentials: unknown;
  ability: Ability | null;
}

/** One document-service middleware call's context. */
export interface DocumentContext {
  uid: string;
  action: string;
  params: Record<string, any>;
  contentType?: StrapiContentType;
}

/** A database lifecycle event (`strapi.db.lifecycles.subscribe`). */
export interface LifecycleEvent {
  action: string;
  model: { uid: string };
  params: {
    data?: Record<string, unknown>;
    where?: Record<string, unknown>;
    [key: string]: unknown;
  };
  result?: unknown;
}

type Query = {
  findOne(params: Record<string, unknown>): Promise<any>;
  findMany(params?: Record<string, unknown>): Promise<any[]>;
};

/** The Strapi instance, as far as the plugin uses it. */
export interface StrapiLike {
  config: { get(path: string, fallback?: unknown): unknown };
  log: Logger;
  server: { httpServer: HttpServer };
  /** Every content type by uid (Strapi types it per app, as an interface without an index signature). */
  contentTypes: object;
  contentType(uid: string): StrapiContentType | undefined;
  /** A content type or a component by uid (what Strapi's sanitizer walks relations and components with). */
  getModel(uid: string): StrapiModel | undefined;
  plugin(name: string): { service(name: string): any } | undefined;
  service(uid: string): any;
  store(options: { type: string; name: string }): { get(options: { key: string }): Promise<any> };
  // A method's parameters are bivariant: Strapi's own signature takes its narrower `UID.ContentType`.
  documents: { call(uid: string): any }["call"] & {
    /** Registers a middleware; at run time returns its remover (Strapi's types say the service). */
    use(
      middleware: (context: DocumentContext, next: () => Promise<unknown>) => Promise<unknown>,
    ): unknown;
  };
  db: {
    query(uid: string): Query;
    transaction<T>(
      callback: (helpers: { onCommit(fn: () => void): void }) => T | Promise<T>,
    ): Promise<T>;
    inTransaction(): boolean;
    lifecycles: { subscribe(subscriber: Record<string, unknown>): () => void };
  };
  contentAPI: {
    permissions: {
      engine: { generateAbility(permissions: Array<{ action: string }>): Promise<Ability> };
    };
    validate: {
      /** Throws a `ValidationError` for a filter on what `auth` may not read (Strapi's REST rule). */
      query: {
        call(query: object, schema: StrapiModel, options: { auth: SanitizeAuth }): Promise<void>;
      }["call"];
    };
    sanitize: {
      // Bivariant (a method's type): Strapi's signature takes its own `Model` union, which a structural
      // shape cannot be assignable to; every model Strapi has is a `StrapiModel`.
      output: {
        call(data: unknown, schema: StrapiModel, options: { auth: SanitizeAuth }): Promise<unknown>;
      }["call"];
      /** Removes from a query what `auth` may not ask for (REST does this before reading). */
      query: {
        call(
          query: Record<string, unknown>,
          schema: StrapiModel,
          options: { auth: SanitizeAuth },
        ): Promise<Record<string, unknown>>;
      }["call"];
    };
  };
  /** Login sessions (users-permissions' refresh mode), where Strapi provides them. */
  sessionManager?: (origin: string) => { isSessionActive(sessionId: string): Promise<boolean> };
  $io?: unknown;
}
