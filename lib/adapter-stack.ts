/**
 * The adapter stack of one `$io`, composed in one place. Bottom to top:
 * 1. the base: Socket.IO's in-memory adapter or, in a cluster, the Redis adapter (given to the `Server`
 *    when it is created, before any namespace exists, so that no Redis adapter subscribes for nothing);
 * 2. the transport's mixin (uWS: one native publish per room; node-http: room fan-out without a
 *    de-duplication set, each broadcast's frame written straight to the recipients' TCP sockets);
 * 3. with metrics on, the delivery count (see `lib/metrics/delivery-count.ts`);
 * 4. with `recovery` on, the recovery layer: every delivery on this node gets its offset in the node's
 *    replay stream and is kept for replay (see `lib/recovery/recovery-adapter.ts`);
 * 5. in a cluster, when the layers below deliver without calling the base's `broadcast` (`deliversItself`:
 *    both transports' mixins write to their sockets themselves), or must see broadcasts from other nodes
 *    (recovery), the cluster's delivery overlay: it publishes each broadcast to Redis itself and hands
 *    broadcasts from other nodes to the layers below as local ones (see `lib/cluster/redis-adapter.ts`).
 *
 * @module
 */
import type { AdapterConstructor } from "./adapter-types.ts";
import type { RedisCluster } from "./cluster/redis-cluster.ts";
import type { Recovery } from "./recovery/recovery.ts";
import { withDeliveryCount } from "./metrics/delivery-count.ts";
import { withRecovery } from "./recovery/recovery-adapter.ts";
import type { AdapterMixin } from "./transports/transport.ts";
import type { IoServer } from "./types.ts";

/**
 * Installs the stack on `server`'s namespaces. Call before the transport accepts connections. `ownBase` is
 * the adapter class `server` was created with: a different one now was plugged by the app (`init`).
 */
export function installAdapterStack(
  server: IoServer,
  ownBase: unknown,
  transport: AdapterMixin,
  cluster: RedisCluster | undefined,
  recovery: Recovery | undefined,
  delivered?: (namespace: string, recipients: number) => void,
): void {
  const base = server.adapter() as unknown as AdapterConstructor;
  const transported = transport.wrap(base, base !== ownBase);
  const delivering = delivered ? withDeliveryCount(transported, delivered) : transported;
  const recording = recovery ? withRecovery(delivering, recovery) : delivering;
  const stack = cluster && (transport.deliversItself || recovery)
    ? cluster.overlay(recording, recovery && ((room) => recovery.awayIn(room)))
    : recording;
  server.adapter(stack as never);
}
