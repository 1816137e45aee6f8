/**
 * A raw Engine.IO v4 / Socket.IO v5 client over `ws`: sends frames exactly as given (what socket.io-client
 * never sends — duplicate CONNECTs, deeply nested payloads, numeric event names) and records every frame
 * it receives. Answers the server's pings so that it stays connected.
 */
import WebSocket from "ws";

export interface RawClient {
  /** Every text frame received, in order (the Engine.IO open packet and pings included). */
  readonly frames: string[];
  /** Resolves with the close code once the server closed the connection. */
  readonly closed: Promise<number>;
  send(frame: string): void;
  /** Resolves with the first frame (already received or not) that satisfies `test`; rejects after `ms`. */
  waitFor(test: (frame: string) => boolean, ms?: number): Promise<string>;
  close(): void;
}

/** Opens a raw WebSocket connection to a Socket.IO server and waits for its Engine.IO open packet. */
export async function rawClient(url: string, path = "/socket.io/"): Promise<RawClient> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}${path}?EIO=4&transport=websocket`);
  const frames: string[] = [];
  const waiters = new Set<() => void>();
  ws.on("message", (data, isBinary) => {
    if (isBinary) return;
    const frame = String(data);
    if (frame === "2") ws.send("3");
    frames.push(frame);
    for (const wake of waiters) wake();
  });
  const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
  const waitFor = (test: (frame: string) => boolean, ms = 3000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const found = frames.find(test);
        if (found === undefined) return false;
        waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for a frame; got ${
              JSON.stringify(frames.map((frame) => frame.slice(0, 80)))
            }`,
          ),
        );
      }, ms);
      if (!check()) waiters.add(check);
    });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  await waitFor((frame) => frame.startsWith("0{"));
  return { frames, closed, send: (frame) => ws.send(frame), waitFor, close: () => ws.close() };
}
