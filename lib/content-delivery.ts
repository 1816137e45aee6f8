/**
 * Sending one content event's copies (the policy's deliveries): each to its audience rooms in `/`, to the
 * entity's followers in the other namespaces, never to the sockets a filtered subscription answers instead;
 * and which rooms can have receivers at all (the policy skips sanitizing for the others).
 *
 * @module
 */
import type { Delivery, Reach } from "./access-policy.ts";
import { type NamespaceSet, reachesOtherNodes } from "./namespace-set.ts";
import type { Recovery } from "./recovery/recovery.ts";
import type { IoNamespace } from "./types.ts";

/**
 * Sends each delivery as `eventName`; the sockets of `answered` rooms (filtered subscriptions that matched
 * or were left) get their subscription's event instead, so they are left out here.
 */
export function sendDeliveries(
  namespaces: NamespaceSet,
  eventName: string,
  deliveries: readonly Delivery[],
  answered: readonly string[],
): void {
  const main = namespaces.main;
  for (const { to, followers, payload } of deliveries) {
    if (to === "everyone") {
      (answered.length > 0 ? main.except([...answered]) : main).emit(eventName, payload);
    } // An empty room list is nobody: never widen it to everyone.
    else if (to.rooms.length > 0) {
      sendTo(main, to.rooms, [...(to.except ?? []), ...answered], eventName, payload);
    }
    if (!followers) continue;
    for (const namespace of namespaces.all) {
      if (namespace !== main) {
        sendTo(namespace, [followers.room], followers.except, eventName, payload);
      }
    }
  }
}

/**
 * Which rooms can have receivers: those with a member here in any served namespace or with a socket away
 * that may recover, unless the adapter reaches other nodes.
 */
export function reachOf(namespaces: NamespaceSet, recovery: Recovery | undefined): Reach {
  if (reachesOtherNodes(namespaces.main)) return { has: () => true };
  return {
    has: (room) =>
      namespaces.all.some((namespace) => namespace.adapter.rooms.has(room)) ||
      recovery?.awayIn(room) === true,
  };
}

/** Emits to the sockets of `namespace` in any of `rooms` and in none of `except`. */
function sendTo(
  namespace: IoNamespace,
  rooms: readonly string[],
  except: readonly string[] | undefined,
  event: string,
  payload: unknown,
): void {
  const target = namespace.to(rooms as string[]);
  (except?.length ? target.except(except as string[]) : target).emit(event, payload);
}
