/**
 * The node:http transport: Socket.IO attached to an existing node:http server (Strapi's, one port for
 * everything) or to one it creates. Runs on Node and on Deno's node:http. Upgrade requests for other paths
 * (Strapi's data-transfer endpoint, for example) are left alone.
 *
 * @module
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { TransportContext, TransportHandle } from "./transport.ts";

/** Events engine.io adds listeners for on the server it attaches to; removed again on close. */
const ATTACHED_EVENTS = ["request", "upgrade", "close", "listening"] as const;

/** Attaches Socket.IO to `context.httpServer`, or creates a server on `transport.host`/`transport.port`. */
export async function startNodeHttpTransport(context: TransportContext): Promise<TransportHandle> {
  const { io, options } = context;
  const owned = context.httpServer === undefined;
  const server = context.httpServer ?? createServer();
  const before = snapshotListeners(server);

  // destroyUpgrade: false — engine.io would otherwise destroy every upgrade it does not own after 1 s.
  io.attach(server, { ...options.socket.serverOptions, destroyUpgrade: false } as never);
  if (!owned) {
    // io.close() closes the server it is attached to; a shared server (Strapi's) is not ours to close.
    (io as unknown as { httpServer?: HttpServer }).httpServer = undefined;
  }

  if (owned) {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.transport.port, options.transport.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  let closing: Promise<void> | undefined;
  return {
    type: "node-http",
    get port() {
      const address = server.address();
      return address !== null && typeof address === "object" ? (address as AddressInfo).port : 0;
    },
    stats: () => ({ backpressureDisconnects: 0 }),
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => io.close(() => resolve()));
        // io.close() ends Socket.IO's connections; idle keep-alive ones would hold an owned server open.
        if (owned) server.closeAllConnections?.();
        await closed;
        if (!owned) restoreListeners(server, before);
      })();
      return closing;
    },
  };
}

type ListenerSnapshot = Map<string, Array<(...args: unknown[]) => void>>;

function snapshotListeners(server: HttpServer): ListenerSnapshot {
  return new Map(ATTACHED_EVENTS.map((event) => [event, server.listeners(event) as Array<(...args: unknown[]) => void>]));
}

/** Puts a shared server's listeners back as they were before engine.io wrapped them. */
function restoreListeners(server: HttpServer, snapshot: ListenerSnapshot): void {
  for (const [event, listeners] of snapshot) {
    server.removeAllListeners(event);
    for (const listener of listeners) server.on(event, listener);
  }
}
