/**
 * The plugin's `events` config: handlers for `connection`, `disconnect` and the client's own events, each
 * called as `handler({ strapi, io }, socket, ...args)`. A handler that throws never reaches the process:
 * it is logged, and a client that asked for an acknowledgement is answered `{ success: false, error }`.
 *
 * @module
 */
import { errorMessage, type Logger } from "../logger.ts";
import type { IoSocket } from "../types.ts";
import type { ClientEventContext, ClientEventHandler } from "./plugin-options.ts";

/** Registers the configured handlers on a newly connected socket (and runs its `connection` handlers). */
export function attachClientEvents(socket: IoSocket, handlers: readonly ClientEventHandler[], context: ClientEventContext, logger: Logger): void {
  for (const { name, handler } of handlers) {
    const run = (args: unknown[], ack?: (result: unknown) => void) => {
      Promise.resolve()
        .then(() => handler(context, socket, ...args))
        .catch((error) => {
          logger.error(`io event handler '${name}' failed for socket ${socket.id}: ${errorMessage(error)}`);
          ack?.({ success: false, error: errorMessage(error) });
        });
    };
    if (name === "connection") run([]);
    else if (name === "disconnect") socket.on("disconnect", (reason) => run([reason]));
    else {
      socket.on(name, (...args: unknown[]) => {
        const last = args[args.length - 1];
        run(args, typeof last === "function" ? (last as (result: unknown) => void) : undefined);
      });
    }
  }
}
