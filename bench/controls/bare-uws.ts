/**
 * The control with no library: a uWebSockets.js App that speaks just enough Engine.IO/Socket.IO for the
 * load clients (open packet, CONNECT answer) and sends every event as one `app.publish` per topic of a
 * frame encoded ahead of time (only the `seq` digits are spliced in). No permissions, no sanitizing at
 * run time, no per-socket JavaScript state beyond the query string: what the kernel and uWS cost.
 *
 * @module
 */
import uws from "uWebSockets.js";
import type { ContenderServer } from "../contender.ts";
import { ARTICLE, CONTENT_EVENT, entityOfEvent, PERMISSION_SETS, RAW_EVENT } from "../scenario.ts";
import { sanitize } from "../bench-policy.ts";

interface UserData {
  query: string;
}

const OPEN_PACKET = `0${
  JSON.stringify({
    sid: "bare",
    upgrades: [],
    pingInterval: 25000,
    pingTimeout: 20000,
    maxPayload: 1000000,
  })
}`;

/** A frame `42["<event>",<wrap>{"seq":<n>,...rest}]` split around the seq digits. */
function frameParts(
  event: string,
  document: Record<string, unknown>,
  wrapInData: boolean,
): [string, string] {
  const rest = JSON.stringify(document).slice(1); // `"id":...}` (the object without its opening brace)
  const head = `42${JSON.stringify([event]).slice(0, -1)},${wrapInData ? '{"data":' : ""}{"seq":`;
  return [head, `,${rest}${wrapInData ? "}" : ""}]`];
}

export async function start(connections: number): Promise<ContenderServer> {
  const app = uws.App();
  let setups = 0;
  app.ws<UserData>("/socket.io/*", {
    maxBackpressure: 64 * 1024 * 1024,
    idleTimeout: 0,
    upgrade: (res, req, context) => {
      res.upgrade<UserData>(
        { query: req.getQuery() ?? "" },
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },
    open: (ws) => {
      const query = new URLSearchParams(ws.getUserData().query);
      ws.subscribe("all");
      ws.subscribe(`aud:${query.get("aud") ?? ""}`);
      ws.subscribe(`ent:${query.get("ent") ?? ""}`);
      if (query.get("feed") === "1") ws.subscribe("feed");
      ws.send(OPEN_PACKET);
      setups += 1;
    },
    message: (ws, message) => {
      const text = Buffer.from(message).toString();
      if (text.startsWith("40")) ws.send('40{"sid":"bare"}');
    },
  });
  const listenSocket = await new Promise<uws.us_listen_socket>((resolve, reject) => {
    app.listen(
      "127.0.0.1",
      0,
      (
        socket,
      ) => (socket ? resolve(socket) : reject(new Error("bench: bare uWS could not listen"))),
    );
  });

  const setFrames = PERMISSION_SETS.map((set) => ({
    topics: set.audiences.map((audience) => `aud:${audience}`),
    parts: frameParts(CONTENT_EVENT, sanitize({ seq: 0, ...ARTICLE }, set), true),
  }));
  for (const set of setFrames) set.parts[1] = set.parts[1].replace(/^,"seq":0/, "");
  const raw = frameParts(RAW_EVENT, ARTICLE, false);
  const entity = frameParts(CONTENT_EVENT, ARTICLE, false);
  return {
    port: uws.us_socket_local_port(listenSocket),
    setups: () => setups,
    emit: (seq) => {
      for (const { topics, parts } of setFrames) {
        const frame = `${parts[0]}${seq}${parts[1]}`;
        for (const topic of topics) app.publish(topic, frame);
      }
    },
    emitToEntity: (seq) =>
      void app.publish(`ent:${entityOfEvent(seq, connections)}`, `${entity[0]}${seq}${entity[1]}`),
    rawAll: (seq) => void app.publish("all", `${raw[0]}${seq}${raw[1]}`),
    rawRoom: (seq) => void app.publish("feed", `${raw[0]}${seq}${raw[1]}`),
    close: async () => {
      uws.us_listen_socket_close(listenSocket);
      (app as { close?: () => void }).close?.();
    },
  };
}
