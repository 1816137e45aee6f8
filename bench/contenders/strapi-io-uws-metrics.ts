/**
 * strapi-io on uWebSockets.js with Prometheus metrics on (`metrics.enabled`): what counting costs on the hot
 * path (the metrics bars compare it with the default contender in one run). Nothing scrapes during the run.
 */
import type { ContenderServer } from "../contender.ts";
import { startStrapiIo } from "./strapi-io.ts";

export function start(connections: number): Promise<ContenderServer> {
  return startStrapiIo("uws", connections, {
    metrics: { enabled: true, token: "bench-metrics-token-0123456789" },
  });
}
