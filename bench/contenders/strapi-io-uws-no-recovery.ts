/**
 * strapi-io on uWebSockets.js with `recovery: { enabled: false }`: what the default contender costs
 * without offsets and the replay buffer (the recovery bars compare the two in one run).
 */
import type { ContenderServer } from "../contender.ts";
import { startStrapiIo } from "./strapi-io.ts";

export function start(connections: number): Promise<ContenderServer> {
  return startStrapiIo("uws", connections, { recovery: { enabled: false } });
}
