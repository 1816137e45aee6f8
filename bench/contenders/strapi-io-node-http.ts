/** strapi-io on its node:http transport (one port with Strapi; the Deno path). */
import type { ContenderServer } from "../contender.ts";
import { startStrapiIo } from "./strapi-io.ts";

export function start(connections: number): Promise<ContenderServer> {
  return startStrapiIo("node-http", connections);
}
