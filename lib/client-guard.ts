/**
 * The one guard in front of every client event, strapi-io's own (`subscribe-entity`, …) and the app's
 * (`events` config) alike. Nothing a client sends may reach an uncaught exception or hold the event loop
 * for others:
 * - a per-socket token bucket (`limits.events.rate` / `burst`): over it an event is refused and nothing
 *   runs; a socket refused `disconnectAfter` times in a row is disconnected with a reason;
 * - names a client may not send (not a string, reserved by Node's EventEmitter or Socket.IO) and events
 *   nobody handles are refused;
 * - at most `limits.events.maxPending` handlers of one socket run at once (database lookups included);
 * - a handler that throws or rejects is logged, and the client is answered.
 *
 * Every refusal of an event sent with an acknowledgement is answered `{ success: false, error, code }`;
 * an event sent without one cannot be answered and is dropped (logged at debug level).
 *
 * @module
 */
import { describe } from "./config-checks.ts";
import { errorMessage, type Logger } from "./logger.ts";
import type { ResolvedIoOptions } from "./options.ts";
import type { ClientEventRefusal, ClientEventRefusalCode, IoSocket } from "./types.ts";

/** Event names a client may not send: Node's EventEmitter and Socket.IO give them meanings of their own. */
const RESERVED_CLIENT_EVENTS: ReadonlySet<string> = new Set([
  "error",
  "connect",
  "connect_error",
  "connection",
  "disconnect",
  "disconnecting",
  "newListener",
  "removeListener",
]);

/** Marks the listeners {@link ClientGuard.handler} made, whose pending work the guard counts. */
const GUARDED = Symbol("strapi-io:guarded");

/** What the guard keeps per socket (not in `socket.data`: that is the app's, and travels across nodes). */
interface Budget {
  tokens: number;
  refilledAt: number;
  refusedInARow: number;
  /** Guarded handlers admitted and not finished (reserved at admission: several may be admitted in one tick). */
  pending: number;
  disconnected: boolean;
}

/** A client-event handler: gets the socket and the arguments without the acknowledgement. */
export type GuardedRun = (
  socket: IoSocket,
  args: unknown[],
  ack: Acknowledge | undefined,
) => unknown;
/** A client's acknowledgement callback. */
export type Acknowledge = (answer: unknown) => void;

/** Disconnects a socket with a reason the client is told (`$io.disconnectSocket`). */
export type DisconnectWithReason = (socket: IoSocket, reason: string) => void;

/** The per-socket limits and the handler wrapper. One per `$io`. */
export class ClientGuard {
  readonly #limits: ResolvedIoOptions["limits"]["events"];
  readonly #logger: Logger;
  readonly #disconnect: DisconnectWithReason;
  readonly #received: () => void;
  readonly #budgets = new WeakMap<IoSocket, Budget>();
  /** strapi-io's own events, answered for every socket without a listener per socket. */
  readonly #routes = new Map<string, Route>();

  constructor(
    limits: ResolvedIoOptions["limits"]["events"],
    logger: Logger,
    disconnect: DisconnectWithReason,
    received: () => void = () => {},
  ) {
    this.#limits = limits;
    this.#logger = logger;
    this.#disconnect = disconnect;
    this.#received = received;
  }

  /**
   * Answers `name` for the sockets `serves` accepts with `listener` (made by {@link handler}), in the guard
   * itself: a connection holds no listener of its own for strapi-io's events.
   */
  route(
    name: string,
    listener: (this: IoSocket, ...args: unknown[]) => void,
    serves: (socket: IoSocket) => boolean = () => true,
  ): void {
    this.#routes.set(name, { listener, serves });
  }

  /** Puts the guard in front of every event the socket receives (a Socket.IO middleware: runs before any listener). */
  install(socket: IoSocket): void {
    socket.use((packet, next) => {
      this.#received();
      const budget = this.#budgetOf(socket);
      const refusal = this.#admit(socket, budget, packet);
      if (!refusal) {
        const route = this.#routeFor(socket, packet[0] as string);
        if (route) {
          budget.pending += 1;
          route.listener.apply(socket, packet.slice(1));
          return; // answered here: no listener of the socket's sees it
        }
        budget.pending += guardedListeners(socket, packet[0] as string);
        return next();
      }
      const ack = packet[packet.length - 1];
      if (typeof ack === "function") ack(refusal);
      else {
        this.#logger.debug(
          `socket ${socket.id}: refused an event sent without an acknowledgement (${refusal.code})`,
        );
      }
    });
  }

  /** A socket's budget, made at its first event: many sockets only listen, and a node holds many. */
  #budgetOf(socket: IoSocket): Budget {
    let budget = this.#budgets.get(socket);
    if (!budget) {
      budget = {
        tokens: this.#limits.burst,
        refilledAt: Date.now(),
        refusedInARow: 0,
        pending: 0,
        disconnected: false,
      };
      this.#budgets.set(socket, budget);
    }
    return budget;
  }

  /**
   * Wraps a handler so that whatever it throws or rejects with is logged and answered, and its pending
   * work counts against `maxPending`. With `reply`, the handler's result (or what it resolves to) is the
   * answer; without, the handler receives the acknowledgement and answers itself. The listener is shared
   * by every socket (Socket.IO calls it with the socket as `this`).
   */
  handler(
    name: string,
    run: GuardedRun,
    { reply }: { reply: boolean },
  ): (this: IoSocket, ...args: unknown[]) => void {
    const budgets = this.#budgets;
    const logger = this.#logger;
    const listener = function (this: IoSocket, ...args: unknown[]): void {
      const budget = budgets.get(this);
      // Frees the slot the middleware reserved for this call.
      const done = () => {
        if (budget && budget.pending > 0) budget.pending -= 1;
      };
      const ack = typeof args[args.length - 1] === "function"
        ? (args.pop() as Acknowledge)
        : undefined;
      const failed = (error: unknown) => {
        done();
        logger.error(`client event '${name}' failed for socket ${this.id}: ${errorMessage(error)}`);
        ack?.(refusal("handler_failed", errorMessage(error)));
      };
      let result: unknown;
      try {
        result = run(this, args, reply ? undefined : ack);
      } catch (error) {
        failed(error);
        return;
      }
      if (!isThenable(result)) {
        done();
        if (reply) ack?.(result);
        return;
      }
      result.then((value) => {
        done();
        if (reply) ack?.(value);
      }, failed);
    };
    return Object.assign(listener, { [GUARDED]: true });
  }

  #routeFor(socket: IoSocket, event: string): Route | undefined {
    const route = this.#routes.get(event);
    return route?.serves(socket) ? route : undefined;
  }

  #admit(socket: IoSocket, budget: Budget, packet: unknown[]): ClientEventRefusal | undefined {
    if (budget.disconnected) {
      return refusal("rate_limited", "Disconnected for sending too many events");
    }
    const { rate, burst, disconnectAfter, maxPending } = this.#limits;
    const now = Date.now();
    budget.tokens = Math.min(burst, budget.tokens + ((now - budget.refilledAt) * rate) / 1000);
    budget.refilledAt = now;
    if (budget.tokens < 1) {
      budget.refusedInARow += 1;
      if (budget.refusedInARow >= disconnectAfter) {
        budget.disconnected = true;
        this.#logger.warn(
          `disconnected socket ${socket.id}: ${budget.refusedInARow} events in a row over the rate limit`,
        );
        this.#disconnect(
          socket,
          `Too many events: ${budget.refusedInARow} in a row over the limit of ${rate} per second`,
        );
      }
      return refusal(
        "rate_limited",
        `Rate limit: at most ${rate} events per second, in bursts of ${burst}`,
      );
    }
    budget.tokens -= 1;
    budget.refusedInARow = 0;
    const event = packet[0];
    if (typeof event !== "string") {
      return refusal("invalid_event", `Event names must be strings, got ${describe(event)}`);
    }
    if (RESERVED_CLIENT_EVENTS.has(event)) {
      return refusal("reserved_event", `'${event}' is reserved and cannot be sent by a client`);
    }
    const routed = this.#routeFor(socket, event) ? 1 : 0;
    if (routed === 0 && socket.listenerCount(event) === 0) {
      return refusal("unknown_event", `Unknown event ${describe(event)}`);
    }
    if (budget.pending + routed + guardedListeners(socket, event) > maxPending) {
      return refusal(
        "too_many_pending",
        `Too many requests in progress: at most ${maxPending} per socket`,
      );
    }
    return undefined;
  }
}

/** One of strapi-io's events, as the guard answers it. */
interface Route {
  listener: (this: IoSocket, ...args: unknown[]) => void;
  serves(socket: IoSocket): boolean;
}

/** A refusal as the client receives it. */
export function refusal(code: ClientEventRefusalCode, error: string): ClientEventRefusal {
  return { success: false, error, code };
}

function guardedListeners(socket: IoSocket, event: string): number {
  let count = 0;
  for (const listener of socket.listeners(event)) {
    if ((listener as { [GUARDED]?: boolean })[GUARDED]) count += 1;
  }
  return count;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
