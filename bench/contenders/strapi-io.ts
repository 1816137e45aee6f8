/**
 * strapi-io (`createSocketIO`) with the bench policy, on either transport: the product under test.
 *
 * @module
 */
import { loadStrapiIo } from "../strapi-io-build.ts";
import type { StrapiIO } from "../../lib/io.ts";
import type { Logger } from "../../lib/logger.ts";
import type { IoOptions } from "../../lib/options.ts";
import type { RunningTransportType } from "../../lib/transports/transport.ts";
import { createBenchPolicy } from "../bench-policy.ts";
import { type ContenderServer, queryValue } from "../contender.ts";
import {
  articleFor,
  BENCH_LIMITS,
  CONTENT_TYPE_UID,
  entityOfEvent,
  FEED_ROOM,
  RAW_EVENT,
} from "../scenario.ts";

const quietLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

/** A started strapi-io contender, with its `$io` for the benches that look inside (recovery's storm). */
export interface StrapiIoContender extends ContenderServer {
  readonly io: StrapiIO;
}

/** Options a contender varies (recovery on by default, metrics off by default). */
export type ContenderOptions = Pick<IoOptions, "recovery" | "metrics">;

/** Starts strapi-io with the bench policy and `options` as in the core options. */
export async function startStrapiIo(
  transport: RunningTransportType,
  connections: number,
  options: ContenderOptions = {},
): Promise<StrapiIoContender> {
  const { createSocketIO } = await loadStrapiIo();
  let setups = 0;
  const io = await createSocketIO(
    {
      transport: { type: transport, host: "127.0.0.1", port: 0, polling: false },
      limits: BENCH_LIMITS,
      ...options,
    },
    {
      logger: quietLogger,
      policy: createBenchPolicy(),
      onConnection: (socket) => {
        const query = socket.handshake.query as Record<string, unknown>;
        if (queryValue(query, "feed") === "1") io.joinRoom(socket.id, FEED_ROOM);
        io.subscribeToEntity(socket.id, CONTENT_TYPE_UID, queryValue(query, "ent")).then(
          (result) => {
            if (result.success) setups += 1;
            else console.error(`bench: subscribeToEntity failed: ${result.error}`);
          },
        );
      },
    },
  );
  return {
    io,
    port: io.port,
    setups: () => setups,
    emit: (seq) => io.emit({ event: "update", schema: CONTENT_TYPE_UID, data: articleFor(seq) }),
    emitToEntity: (seq) =>
      io.emitToEntity(
        CONTENT_TYPE_UID,
        entityOfEvent(seq, connections),
        "article:update",
        articleFor(seq),
      ),
    rawAll: (seq) => io.raw({ event: RAW_EVENT, data: articleFor(seq) }),
    rawRoom: (seq) => io.raw({ event: RAW_EVENT, rooms: FEED_ROOM, data: articleFor(seq) }),
    close: () => io.close(),
  };
}
