/**
 * Recovery across the nodes of a cluster, over Socket.IO's inter-server events on `/` (so over the Redis
 * adapter, in order with the broadcasts of each node): a node asks the others for a session it does not
 * hold, and a node that shuts down gracefully hands its sessions over. See `handoff.ts` for why the order
 * of these messages makes the stitched replay exact.
 *
 * @module
 */
import { errorMessage, type Logger } from "../logger.ts";
import type { IoNamespace } from "../types.ts";
import type { Handoff, ResumeAnswer, ResumeRequest } from "./handoff.ts";
import type { Recovery, RecoveryPeers } from "./recovery.ts";

const RESUME_EVENT = "strapi-io:resume";
const HANDOFF_EVENT = "strapi-io:handoff";

/** Events of one hand-off per message, so that no message nears Redis' output buffer limits. */
const ENTRIES_PER_MESSAGE = 500;

/** One message of a hand-off: announced, then its parts, the last one `final`. */
export type HandoffMessage =
  | { epoch: string; step: "announce" }
  | { epoch: string; step: "part"; part: Partial<Handoff>; final: boolean };

/**
 * The cluster's side of recovery: answers other nodes, asks them, and hands over on shutdown in two steps
 * around closing the sockets: `announceHandoff()` while this node still reads from Redis (from the moment
 * each node reads the announcement it keeps every broadcast, and once all have answered, this node has
 * read everything published before it: Redis keeps the order), then `handOff()` once the sockets are
 * closed (their sessions and the part of this node's stream they need, in messages of bounded size).
 */
export interface RecoveryCluster extends RecoveryPeers {
  announceHandoff(): Promise<void>;
  handOff(): void;
}

/** Wires `recovery` to the other nodes through `main`'s inter-server events. */
export function connectRecoveryCluster(
  main: IoNamespace,
  recovery: Recovery,
  requestsTimeout: number,
  logger: Logger,
): RecoveryCluster {
  main.on(RESUME_EVENT, (request: unknown, ack?: (answer: ResumeAnswer | null) => void) => {
    const parsed = parseRequest(request);
    let answer: ResumeAnswer | null = null;
    try {
      answer = parsed ? recovery.answer(parsed) : null;
    } catch (error) {
      logger.error(`could not answer another node's request for a session: ${errorMessage(error)}`);
    }
    ack?.(answer); // always: the asking node waits for every node's answer
  });
  const incoming = new Map<
    string,
    { complete(handoff?: Handoff): void; parts: Handoff; done: Promise<void> }
  >();
  /** Asks in flight, by session id: a hand-off of that session ends them at once (the leaving node no longer answers). */
  const asking = new Map<string, () => void>();
  main.on(HANDOFF_EVENT, (message: HandoffMessage, ack?: () => void) => {
    try {
      receive(message, ack);
    } catch (error) {
      logger.error(`could not take over the sessions of a node that left: ${errorMessage(error)}`);
    }
  });

  function receive(message: HandoffMessage, ack?: () => void): void {
    if (message.step === "announce") {
      const expect = recovery.expectHandoff();
      let ended!: () => void;
      const done = new Promise<void>((resolve) => (ended = resolve));
      const complete = (handoff?: Handoff) => {
        expect(handoff);
        ended();
      };
      const parts: Handoff = {
        epoch: message.epoch,
        evictedThrough: 0,
        vector: [],
        sessions: [],
        entries: [],
      };
      incoming.set(message.epoch, { complete, parts, done });
      // If the rest never comes (the node crashed meanwhile), stop keeping every broadcast.
      setTimeout(() => {
        if (incoming.get(message.epoch)?.parts !== parts) return;
        incoming.delete(message.epoch);
        complete();
      }, requestsTimeout * 2).unref?.();
      ack?.();
      return;
    }
    const pending = incoming.get(message.epoch);
    if (!pending) return;
    const { part } = message;
    const parts = pending.parts;
    if (part.evictedThrough !== undefined) parts.evictedThrough = part.evictedThrough;
    if (part.vector) parts.vector = part.vector;
    if (part.sessions) parts.sessions.push(...part.sessions);
    if (part.entries) parts.entries.push(...part.entries);
    if (!message.final) return;
    incoming.delete(message.epoch);
    pending.complete(parts);
    for (const { pid } of parts.sessions) asking.get(pid)?.();
  }

  return {
    ask: (request) =>
      new Promise((resolve) => {
        const done = (answer?: ResumeAnswer) => {
          asking.delete(request.pid);
          resolve(answer);
        };
        asking.set(request.pid, () => done());
        main.serverSideEmit(
          RESUME_EVENT,
          request,
          (_error: unknown, answers: Array<ResumeAnswer | null> = []) => {
            const answer = answers.find((candidate) => candidate != null) ?? undefined;
            if (answer || incoming.size === 0) return done(answer);
            // Nobody holds it, but a node is handing its sessions over: it may be among them.
            void Promise.all([...incoming.values()].map(({ done }) => done)).then(() => done());
          },
        );
      }),
    announceHandoff: () =>
      new Promise<void>((resolve) => {
        const announce: HandoffMessage = { epoch: recovery.epoch, step: "announce" };
        main.serverSideEmit(HANDOFF_EVENT, announce, () => resolve());
      }),
    handOff: () => {
      const epoch = recovery.epoch;
      const handoff = recovery.handOff();
      const parts: Array<Partial<Handoff>> = [{
        evictedThrough: handoff.evictedThrough,
        vector: handoff.vector,
      }];
      for (let start = 0; start < handoff.sessions.length; start += ENTRIES_PER_MESSAGE) {
        parts.push({ sessions: handoff.sessions.slice(start, start + ENTRIES_PER_MESSAGE) });
      }
      for (let start = 0; start < handoff.entries.length; start += ENTRIES_PER_MESSAGE) {
        parts.push({ entries: handoff.entries.slice(start, start + ENTRIES_PER_MESSAGE) });
      }
      parts.forEach((part, index) => {
        const message: HandoffMessage = {
          epoch,
          step: "part",
          part,
          final: index === parts.length - 1,
        };
        main.serverSideEmit(HANDOFF_EVENT, message);
      });
      logger.info(`handed ${handoff.sessions.length} session(s) over to the other nodes`);
    },
  };
}

/** A resume request from another node (trusted, but checked for shape before use). */
function parseRequest(request: unknown): ResumeRequest | undefined {
  if (typeof request !== "object" || request === null) return undefined;
  const { pid, offset } = request as { pid?: unknown; offset?: unknown };
  if (typeof pid !== "string") return undefined;
  return typeof offset === "string" ? { pid, offset } : { pid };
}
