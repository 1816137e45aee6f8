/**
 * Clients that speak the Engine.IO v4 / Socket.IO v5 protocol by hand, for what socket.io-client cannot do
 * (and what `raw-client.ts` does not): stop reading (pause the TCP socket under a WebSocket), stop polling.
 */
import WebSocket from "ws";

/** A Socket.IO client on a raw `ws` WebSocket, connected to the main namespace. */
export interface PausableClient {
  readonly ws: WebSocket;
  /** The Socket.IO socket id (what `$io` methods take). */
  readonly id: string;
  /** The session id of the CONNECT reply (with `recovery` on), and whether it resumed the one asked for. */
  readonly pid: string | undefined;
  /** Event names received, in order. */
  readonly received: string[];
  /** The arguments of each event received, in order (with `recovery` on, the offset last). */
  readonly args: unknown[][];
  /** Resolves with the close code and reason once the WebSocket is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Stops reading from the TCP socket: what the server sends piles up in its buffers. */
  pause(): void;
  resume(): void;
  /** Resolves when an event of that name arrives; rejects if the connection closes first. */
  waitFor(event: string): Promise<void>;
}

/**
 * Opens a raw WebSocket to `url` (`http://host:port`), does the Engine.IO and Socket.IO handshakes (sending
 * `auth` in the CONNECT packet, as socket.io-client sends its session id and offset to resume).
 */
export async function connectPausable(
  url: string,
  auth?: Record<string, unknown>,
): Promise<PausableClient> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  const received: string[] = [];
  const args: unknown[][] = [];
  const waiters = new Map<string, Array<() => void>>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on("error", () => {}); // a refused or reset connection shows as `closed`
  const { sid: id, pid } = await new Promise<{ sid: string; pid?: string }>((resolve, reject) => {
    ws.once("close", (code) => reject(new Error(`closed during the handshake (${code})`)));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (text.startsWith("0")) ws.send(auth ? `40${JSON.stringify(auth)}` : "40");
      else if (text === "2") ws.send("3");
      else if (text.startsWith("40")) resolve(JSON.parse(text.slice(2)) as { sid: string });
      else if (text.startsWith("42")) {
        const [name, ...rest] = JSON.parse(text.slice(2)) as [string, ...unknown[]];
        received.push(name);
        args.push(rest);
        for (const wake of waiters.get(name) ?? []) wake();
        waiters.delete(name);
      }
    });
  });
  const socket = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  return {
    ws,
    id,
    pid,
    received,
    args,
    closed,
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    waitFor: (event) =>
      new Promise((resolve, reject) => {
        if (received.includes(event)) return resolve();
        waiters.set(event, [...(waiters.get(event) ?? []), resolve]);
        void closed.then(({ code }) =>
          reject(new Error(`closed (${code}) before '${event}' arrived`))
        );
      }),
  };
}

/** A long-polling Engine.IO session driven by hand: it polls only when told to. */
export interface ManualPollingClient {
  /** The Engine.IO session id. */
  readonly sid: string;
  /** One GET: resolves with the status and body. */
  poll(): Promise<{ status: number; body: string }>;
  /** One POST of `body`: resolves with the status, or with the error when the server cut the request. */
  post(body: string): Promise<{ status: number } | { error: Error }>;
}

/** Opens a long-polling session to `url` and connects it to the main namespace. */
export async function openPolling(url: string): Promise<ManualPollingClient> {
  const base = `${url}/socket.io/?EIO=4&transport=polling`;
  const open = await (await fetch(base)).text();
  const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
  const session = `${base}&sid=${sid}`;
  const client: ManualPollingClient = {
    sid,
    poll: async () => {
      const response = await fetch(session);
      return { status: response.status, body: await response.text() };
    },
    post: async (body) => {
      try {
        const response = await fetch(session, {
          method: "POST",
          body,
          headers: { "content-type": "text/plain;charset=UTF-8" },
        });
        await response.arrayBuffer();
        return { status: response.status };
      } catch (error) {
        return { error: error as Error };
      }
    },
  };
  await client.post("40");
  const connected = await client.poll();
  if (!connected.body.startsWith("40")) {
    throw new Error(`expected the CONNECT reply, got ${connected.body.slice(0, 80)}`);
  }
  return client;
}

/** Resolves after the current loop turn: what was sent in it has been handed to the transport. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
