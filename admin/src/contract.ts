/**
 * The shapes of the plugin's admin API (routes of plugin `io`, admin JWT auth), as the page reads them:
 * the server's own types (`$io.overview()`, `$io.listConnections()`), plus what the routes add. Every
 * aggregate is computed on the server; the page only ever holds one page of connections.
 */
import type { ConnectionPage, IoOverview } from "../../lib/operations/operations-types.ts";

export type {
  AudienceCounts,
  ConnectionRow,
  NodeOverview,
} from "../../lib/operations/operations-types.ts";
export { MAX_DISCONNECT_REASON as REASON_MAX_LENGTH } from "../../lib/operations/operations-types.ts";

/** `GET /io/overview`, with whether the signed-in admin may disconnect (`plugin::io.disconnect`). */
export type Overview = IoOverview & { canDisconnect: boolean };

/** `GET /io/connections?search=&page=&pageSize=`: one page; `missingNodes` did not answer in time. */
export interface ConnectionsPage {
  data: ConnectionPage["data"];
  meta: ConnectionPage["meta"] & { missingNodes?: number };
}
