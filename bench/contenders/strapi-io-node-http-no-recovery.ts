/**
 * strapi-io on node:http with `recovery: { enabled: false }`: recovery's cost on the fallback transport
 * (compared with `strapi-io-node-http` in one run).
 */
import type { ContenderServer } from "../contender.ts";
import { startStrapiIo } from "./strapi-io.ts";

export function start(connections: number): Promise<ContenderServer> {
  return startStrapiIo("node-http", connections, { recovery: { enabled: false } });
}
