/** strapi-io on its uWebSockets.js transport (the default on Node), with its defaults: recovery on. */
import type { ContenderServer } from "../contender.ts";
import { startStrapiIo } from "./strapi-io.ts";

export function start(connections: number): Promise<ContenderServer> {
  return startStrapiIo("uws", connections);
}
