/**
 * Picks and prepares the transport named by `transport.type`; `auto` prefers uWS and says once why it did
 * not get it.
 *
 * @module
 */
import { prepareNodeHttpTransport } from "./node-http.ts";
import type { PreparedTransport, TransportContext, TransportHandle } from "./transport.ts";
import { loadUws, prepareUwsTransport } from "./uws.ts";

/** Prepares the configured transport; its `start()` logs which one runs, and why. */
export async function prepareTransport(context: TransportContext): Promise<PreparedTransport> {
  const { type } = context.options.transport;
  if (type === "uws") return announced(context, await prepareUwsTransport(context), "configured");
  if (type === "node-http") {
    return announced(context, prepareNodeHttpTransport(context), "configured");
  }
  const uws = await loadUws();
  if (uws.ok) {
    return announced(context, await prepareUwsTransport(context), "auto: uWebSockets.js loaded");
  }
  return announced(context, prepareNodeHttpTransport(context), `auto: ${uws.reason}`);
}

function announced(
  context: TransportContext,
  prepared: PreparedTransport,
  why: string,
): PreparedTransport {
  return {
    adapter: prepared.adapter,
    start: async () => announce(context, await prepared.start(), why),
  };
}

function announce(
  context: TransportContext,
  handle: TransportHandle,
  why: string,
): TransportHandle {
  const where = handle.type === "uws"
    ? `its own port ${handle.port}`
    : context.httpServer
    ? "the shared HTTP server"
    : `port ${handle.port}`;
  context.logger.info(`Socket.IO transport '${handle.type}' on ${where} (${why})`);
  return handle;
}
