/**
 * `$io.subscribe()`, `unsubscribe()` and `getSubscriptions()` for a socket connected to another node of
 * the cluster: subscribing runs on that node (validated there, for the socket's own identity);
 * unsubscribing and listing answer from the cluster directory's copy of the socket's subscriptions, and
 * the socket's node carries an unsubscription out (as `unsubscribeFromEntity` does for entities).
 *
 * @module
 */
import type { ClusterLink } from "./namespace-set.ts";
import type { LiveQueryRequest, LiveQueryResult, LiveQuerySubscription } from "./types.ts";

function notFound(socketId: string): { success: false; error: string } {
  return { success: false, error: `Socket '${socketId}' not found` };
}

/** The answer to unsubscribing from a query the socket does not follow. */
export function notSubscribed(id: string): LiveQueryResult {
  return { success: false, error: `Not subscribed to '${String(id).slice(0, 64)}'` };
}

export async function subscribeRemote(
  cluster: ClusterLink | undefined,
  socketId: string,
  uid: string,
  query: Omit<LiveQueryRequest, "uid">,
): Promise<LiveQueryResult> {
  const remote = cluster?.findRemote(socketId);
  if (!cluster || !remote) return notFound(socketId);
  const answer = await cluster.ask(remote, {
    op: "live-subscribe",
    socketId,
    uid,
    query: query as Record<string, unknown>,
  });
  if (!answer.answered) return { success: false, error: answer.reason };
  return (answer.value as LiveQueryResult | undefined) ?? notFound(socketId);
}

export function unsubscribeRemote(
  cluster: ClusterLink | undefined,
  socketId: string,
  subscription: string,
): LiveQueryResult {
  const remote = cluster?.findRemote(socketId);
  if (!cluster || !remote) return notFound(socketId);
  if (!remote.liveQueries.includes(subscription)) return notSubscribed(subscription);
  if (!cluster.tell(remote, { op: "live-unsubscribe", socketId, subscription })) {
    return { success: false, error: "Redis is unreachable" };
  }
  remote.liveQueries = remote.liveQueries.filter((id) => id !== subscription);
  return { success: true, subscription };
}

export function listRemote(
  cluster: ClusterLink | undefined,
  socketId: string,
): { success: boolean; subscriptions?: LiveQuerySubscription[]; error?: string } {
  const remote = cluster?.findRemote(socketId);
  if (!cluster || !remote) return notFound(socketId);
  const subscriptions: LiveQuerySubscription[] = [];
  for (const id of remote.liveQueries) {
    const query = cluster.remoteQuery(remote.node, id);
    if (query) subscriptions.push({ id, ...query });
  }
  return { success: true, subscriptions };
}
