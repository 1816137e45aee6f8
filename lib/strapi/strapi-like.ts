/**
 * The parts of a Strapi 5 instance the plugin touches, typed structurally so that `lib/` compiles and
 * reads without Strapi's heavy types (and without importing Strapi at run time). Each member names what
 * Strapi 5.54 provides; docs/strapi-internals.md says where each one comes from.
 *
 * @module
 */
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
  modelType?: string;
  attributes: Record<string, StrapiAttribute>;
  [key: string]: unknown;
}

/** A Strapi content-type schema, as `strapi.contentType(uid)` returns it. */
export interface StrapiContentType extends StrapiModel {
  kind?: string;
  info: { singularName: string; pluralName?: string; displayName?: string };
  options?: { draftAndPublish?: boolean; [key: string]: unknown };
}

/** A CASL ability from `strapi.contentAPI.permissions.engine.generateAbility()`. */
export interface Ability {
  can(action: string): boolean;
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
  contentTypes: Record<string, StrapiContentType>;
  contentType(uid: string): StrapiContentType | undefined;
  /** A content type or a component by uid (what Strapi's sanitizer walks relations and components with). */
  getModel(uid: string): StrapiModel | undefined;
  plugin(name: string): { service(name: string): any } | undefined;
  service(uid: string): any;
  store(options: { type: string; name: string }): { get(options: { key: string }): Promise<any> };
  documents: ((uid: string) => any) & {
    /** Registers a middleware; returns its remover (call it once). */
    use(
      middleware: (context: DocumentContext, next: () => Promise<unknown>) => Promise<unknown>,
    ): () => void;
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
    sanitize: {
      output(
        data: unknown,
        schema: StrapiContentType,
        options: { auth: SanitizeAuth },
      ): Promise<unknown>;
    };
  };
  /** Login sessions (users-permissions' refresh mode), where Strapi provides them. */
  sessionManager?: (origin: string) => { isSessionActive(sessionId: string): Promise<boolean> };
  $io?: unknown;
}
