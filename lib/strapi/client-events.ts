/**
 * The plugin's `events` config: handlers for `connection`, `disconnect` and the client's own events, each
 * called as `handler({ strapi, io }, socket, ...args)`. Client events pass the core's guard first (rate
 * limit, reserved names, pending bound); a handler that throws never reaches the process: it is logged,
 * and a client that asked for an acknowledgement is answered `{ success: false, error, code }`.
 *
 * @module
 */
import type { ClientGuard } from "../client-guard.ts";
import { errorMessage, type Logger } from "../logger.ts";
import type { IoSocket } from "../types.ts";
import type { ClientEventContext, ClientEventHandler } from "./plugin-options.ts";

/** Attaches the configured handlers to each new socket; listeners are built once and shared by every socket. */
export class ClientEvents {
  readonly #handlers: readonly ClientEventHandler[];
  readonly #context: ClientEventContext;
  readonly #logger: Logger;
  #listeners:
    | Array<[name: string, listener: (this: IoSocket, ...args: unknown[]) => void]>
    | undefined;

  constructor(
    handlers: readonly ClientEventHandler[],
    context: ClientEventContext,
    logger: Logger,
  ) {
    this.#handlers = handlers;
    this.#context = context;
    this.#logger = logger;
  }

  /** Registers the client-event handlers on a newly connected socket and runs its `connection` handlers. */
  attach(socket: IoSocket, guard: ClientGuard): void {
    this.#listeners ??= this.#handlers
      .filter(({ name }) => name !== "connection" && name !== "disconnect")
      .map((
        { name, handler },
      ) => [
        name,
        guard.handler(
          name,
          (target, args, ack) => handler(this.#context, target, ...args, ...(ack ? [ack] : [])),
          { reply: false },
        ),
      ]);
    for (const [name, listener] of this.#listeners) socket.on(name, listener);
    for (const { name, handler } of this.#handlers) {
      if (name === "connection") this.#runHook(name, () => handler(this.#context, socket), socket);
      else if (name === "disconnect") {
        socket.on(
          "disconnect",
          (reason) => this.#runHook(name, () => handler(this.#context, socket, reason), socket),
        );
      }
    }
  }

  /** `connection` / `disconnect` handlers: nobody to answer, so a failure is logged. */
  #runHook(name: string, run: () => unknown, socket: IoSocket): void {
    Promise.resolve()
      .then(run)
      .catch((error) =>
        this.#logger.error(
          `io event handler '${name}' failed for socket ${socket.id}: ${errorMessage(error)}`,
        )
      );
  }
}
