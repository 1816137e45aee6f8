/**
 * One request to every other node over `/`'s inter-server events, with their answers: what the cluster
 * directory, the filtered queries' sharing and `$io.overview()` / `$io.listConnections()` all do.
 *
 * @module
 */
import type { IoNamespace } from "../types.ts";

/**
 * Sends `message` as `event` to every other node and resolves with the answers that came within
 * `requestsTimeout` (the adapter's own timer, which answers with what it got). A request the adapter
 * could not send at all (Redis down) is never answered by it: this resolves with none a second later.
 */
export function askNodes(
  main: IoNamespace,
  event: string,
  message: unknown,
  requestsTimeout: number,
): Promise<unknown[]> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve([]), requestsTimeout + 1000);
    main.serverSideEmit(event, message, (_error: unknown, answers: unknown[] = []) => {
      clearTimeout(timer);
      resolve(answers);
    });
  });
}
