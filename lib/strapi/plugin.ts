/**
 * The Strapi plugin (id `io`): validates `config/plugins` → `io.config` at boot, starts `strapi.$io` in
 * bootstrap (before Strapi accepts requests) with the Strapi access policy, content events and access-change
 * watching, and frees all of it in destroy.
 *
 * @module
 */
import { prepareSocketIO } from "../create-socket-io.ts";
import type { StrapiIO } from "../io.ts";
import { errorMessage } from "../logger.ts";
import { fail } from "../config-checks.ts";
import { reachesOtherNodes } from "../namespace-set.ts";
import type { IoSocket } from "../types.ts";
import { accessChangeBursts, watchAccessChanges } from "./access-changes.ts";
import { Audiences } from "./audiences.ts";
import { ClientEvents } from "./client-events.ts";
import { contentTypeEvents, watchContentEvents } from "./content-events.ts";
import {
  type PluginOptions,
  type ResolvedPluginOptions,
  resolvePluginOptions,
} from "./plugin-options.ts";
import { ACCESS_CHANGES, type AccessChange, type CredentialStore, Sessions } from "./sessions.ts";
import { shapedCopies } from "./live-query-rules.ts";
import { operationsController, operationsRoutes } from "./operations-routes.ts";
import { adminController, adminRoutes, registerAdminPermissions } from "./admin-routes.ts";
import { createStrapiPolicy } from "./strapi-policy.ts";
import type { StrapiLike } from "./strapi-like.ts";

/** What bootstrap opened, so that destroy closes exactly that. */
interface Running {
  io: StrapiIO;
  sessions: Sessions;
  stopWatching: Array<() => void>;
}

const running = new WeakMap<StrapiLike, Running>();

/** The inter-node event that carries access changes to the other nodes of a cluster. */
const ACCESS_CHANGED = "strapi-io:access-changed";

/** The server side of a Strapi plugin, as Strapi's loader calls it. */
export interface StrapiServerPlugin {
  config: { default: PluginOptions; validator(config: unknown): void };
  register(): void;
  bootstrap(context: { strapi: StrapiLike }): Promise<void>;
  destroy(context: { strapi: StrapiLike }): Promise<void>;
  routes: typeof operationsRoutes & typeof adminRoutes;
  controllers: { operations: typeof operationsController; admin: typeof adminController };
}

/** Strapi's plugin object for `strapi-server.js`. */
export const strapiPlugin: StrapiServerPlugin = {
  config: {
    default: {},
    /** Strapi calls this at load with the merged config; a throw aborts boot naming the plugin. */
    validator(config: unknown): void {
      resolvePluginOptions(config as PluginOptions);
    },
  },
  register(): void {},
  routes: { ...operationsRoutes, ...adminRoutes },
  controllers: { operations: operationsController, admin: adminController },
  async bootstrap({ strapi }: { strapi: StrapiLike }): Promise<void> {
    const config = strapi.config.get("plugin::io", {}) as PluginOptions;
    const options = resolvePluginOptions(config);
    expectKnownContentTypes(strapi, options);
    await registerAdminPermissions(strapi);
    const logger = strapi.log;

    const audiences = new Audiences(strapi, logger);
    const credentials: CredentialStore = new WeakMap();
    const eventsOf = contentTypeEvents(options);
    const policy = createStrapiPolicy(strapi, audiences, {
      emitPermission: options.emitPermission,
      streamsDrafts: (uid) => eventsOf(uid)?.drafts === true,
      onAuthenticated: (socket, { expiresAt, keyHash, sessionId }) =>
        credentials.set(socket, { expiresAt, keyHash, sessionId }),
    });
    // Built first, opened last: what handles connections must exist before the first client connects.
    const io = await prepareSocketIO(options.core, { logger, policy });
    const sessions = new Sessions(
      strapi,
      audiences,
      {
        localSockets: () => localSockets(io),
        disconnectSocket: (id, reason) => io.disconnectSocket(id, reason),
      },
      credentials,
      logger,
    );
    const recheck = (changes: ReadonlySet<AccessChange>) => {
      sessions.reconcile(changes)
        // Then filtered subscriptions, for each socket's identity as the re-check left it.
        .then(() => io.revalidateSubscriptions())
        .catch((error) =>
          logger.error(
            `could not re-check connected sockets after an access change: ${errorMessage(error)}`,
          )
        );
    };
    const accessChanges = accessChangeBursts({
      // Logins and logouts change no role or token: the cached audiences stay valid.
      changed: (change) => {
        if (change !== "sessions") audiences.invalidate();
        // What a role or token may read changed: clients away replay nothing sanitized before. (A user
        // moved to another role, blocked or deleted is caught when it reconnects: it authenticates again.)
        if (change === "permissions" || change === "tokens") io.accessChanged();
      },
      settled: recheck,
    });
    const clientEvents = new ClientEvents(options.events, { strapi, io }, logger);
    try {
      await options.hooks.init?.({ strapi, $io: io });
      await io.start({
        httpServer: strapi.server.httpServer,
        onConnection: (socket, guard) => {
          sessions.attach(socket);
          clientEvents.attach(socket, guard);
        },
        // Access changes other nodes announced during a Redis outage were lost: assume anything changed.
        onClusterReconnect: () => {
          audiences.invalidate();
          recheck(new Set(ACCESS_CHANGES));
        },
      });
    } catch (error) {
      accessChanges.close();
      await io.close();
      throw error;
    }
    io.server.on(ACCESS_CHANGED, (changes: unknown) => {
      const announced = Array.isArray(changes) ? changes : [];
      const known = announced.filter((change): change is AccessChange =>
        ACCESS_CHANGES.includes(change)
      );
      // A kind this node does not know (from a newer node) may still change who reads what.
      if (known.length === 0 || known.length < announced.length) audiences.invalidate();
      for (const change of known) accessChanges.note(change);
    });

    const stopWatching = [
      watchContentEvents(
        strapi,
        io,
        options,
        logger,
        (query, documentId, locale) => shapedCopies(strapi, audiences, query, documentId, locale),
      ),
      watchAccessChanges(strapi, logger, (change) => {
        accessChanges.note(change);
        // Other nodes of a cluster cache the same roles and tokens but see no lifecycle of this write. Told
        // of each change at once (not once per burst), they follow it from their next event as this node
        // does; and whatever this node sends them after the write returns arrives after the news.
        if (reachesOtherNodes(io.server.sockets)) {
          io.server.serverSideEmit(ACCESS_CHANGED, [change]);
        }
      }),
      () => accessChanges.close(),
    ];
    running.set(strapi, { io, sessions, stopWatching });
    strapi.$io = io;
  },
  async destroy({ strapi }: { strapi: StrapiLike }): Promise<void> {
    const state = running.get(strapi);
    running.delete(strapi);
    delete strapi.$io;
    if (!state) return;
    for (const stop of state.stopWatching) stop();
    state.sessions.close();
    await state.io.close();
  },
};

/** Fails boot when `contentTypes` names a type the app does not have (checked here: the validator runs before types load). */
function expectKnownContentTypes(strapi: StrapiLike, options: ResolvedPluginOptions): void {
  if (options.contentTypes === "api") return;
  options.contentTypes.forEach(({ uid }, index) => {
    if (!strapi.contentType(uid)) fail(`contentTypes[${index}]`, "a content type of this app", uid);
  });
}

function* localSockets(io: StrapiIO): Iterable<IoSocket> {
  for (const namespace of [io.server.sockets, ...Object.values(io.namespaces)]) {
    yield* namespace.sockets.values();
  }
}
