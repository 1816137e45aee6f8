/**
 * Picks and starts the transport named by `transport.type`; `auto` prefers uWS and says once why it did
 * not get it.
 *
 * @module
 */
import { startNodeHttpTransport } from "./node-http.ts";
import type { TransportContext, TransportHandle } from "./transport.ts";
import { loadUws, startUwsTransport } from "./uws.ts";

/** Starts the configured transport and logs which one runs, and why. */
export async function startTransport(context: TransportContext): Promise<TransportHandle> {
  const { type } = context.options.transport;
  if (type === "uws") return announce(context, await startUwsTransport(context), "configured");
  if (type === "node-http") {
    return announce(context, await startNodeHttpTransport(context), "configured");
  }
  const uws = await loadUws();
  if (uws.ok) {
    return announce(context, await startUwsTransport(context), "auto: uWebSockets.js loaded");
  }
  return announce(context, await startNodeHttpTransport(context), `auto: ${uws.reason}`);
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
