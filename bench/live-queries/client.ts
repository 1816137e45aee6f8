/**
 * A live-query client process: its share of the bench's connections, each a minimal Socket.IO client
 * over raw TCP (bench/ws-wire.ts, as bench/protocol-client.ts) that
 * CONNECTs, sends `42<n>["subscribe",{ uid, filters }]`, keeps the subscription id of the `43<n>`
 * acknowledgement and counts the content events (`42["article:…",{ data, subscriptions }]`) that name it.
 *
 * @module
 */
import type { Socket } from "node:net";
import { CONNECT_FRAME, FrameReader, openWebSocket, PONG_FRAME, textFrame } from "../ws-wire.ts";
import { type ClientRequest, filterOf, replyToRunner } from "./ipc.ts";

const CONTENT_EVENT = Buffer.from('42["article:');
const SUBSCRIPTIONS = Buffer.from('"subscriptions":[');

class Subscriber {
  subscription = "";
  events = 0;
  foreign = 0;
  doneAt = 0;
  #id: Buffer | null = null;
  readonly #socket: Socket;
  readonly #reader = new FrameReader((opcode, data, start, end) => {
    if (opcode === 0x1 /* text */) this.#onPacket(data, start, end);
  }, (status) => fail(this, `upgrade refused: ${status}`));
  readonly filters: Record<string, unknown>;

  constructor(port: number, filters: Record<string, unknown>) {
    this.filters = filters;
    const socket = openWebSocket(
      port,
      "/socket.io/?EIO=4&transport=websocket",
      (data) => this.#reader.read(data),
    );
    this.#socket = socket;
    socket.on("error", (error) => fail(this, error.message));
    socket.on("close", () => fail(this, "connection closed"));
  }

  destroy(): void {
    this.#socket.removeAllListeners("close");
    this.#socket.destroy();
  }

  #onPacket(data: Buffer, start: number, end: number): void {
    const type = data[start];
    if (type === 0x32 /* 2: ping */) this.#socket.write(PONG_FRAME);
    else if (type === 0x30 /* 0: open */) this.#socket.write(CONNECT_FRAME);
    else if (type !== 0x34 /* 4: message */) return;
    const packet = data[start + 1];
    if (packet === 0x30 /* 0: CONNECT */) {
      const request = ["subscribe", { uid: "api::article.article", filters: this.filters }];
      this.#socket.write(textFrame(`421${JSON.stringify(request)}`));
    } else if (packet === 0x33 /* 3: ACK */) {
      const [answer] = JSON.parse(data.toString("utf8", start + 3, end)) as [
        { success: boolean; subscription?: string; error?: string },
      ];
      if (answer.success && answer.subscription) {
        this.subscription = answer.subscription;
        this.#id = Buffer.from(`"${answer.subscription}"`);
        subscribed(this, "");
      } else subscribed(this, answer.error ?? "refused");
    } else if (packet === 0x32 /* 2: EVENT */) {
      if (data.indexOf(CONTENT_EVENT, start) !== start) return;
      names.add(data.toString("utf8", start + 4, data.indexOf(0x22, start + 4)));
      const list = data.lastIndexOf(SUBSCRIPTIONS, end);
      const id = this.#id;
      if (list < start || !id || data.indexOf(id, list) !== list + SUBSCRIPTIONS.length) {
        this.foreign += 1;
        return;
      }
      this.events += 1;
      delivered(this);
    }
  }
}

let subscribers: Subscriber[] = [];
let firstError = "";
let closed = 0;
const names = new Set<string>();
let opening: { next: number; inFlight: number; settled: number; failed: number } | null = null;
let request: Extract<ClientRequest, { type: "connect" }> | null = null;
let phase: { through: number; complete: number; cpu: NodeJS.CpuUsage; reported: boolean } | null =
  null;

function fail(subscriber: Subscriber, why: string): void {
  closed += 1;
  firstError ||= why;
  if (subscriber.subscription === "") subscribed(subscriber, why);
}

const waiting = new Set<Subscriber>();
function subscribed(subscriber: Subscriber, error: string): void {
  if (!opening || !waiting.delete(subscriber)) return;
  opening.inFlight -= 1;
  opening.settled += 1;
  if (error) {
    opening.failed += 1;
    firstError ||= error;
  }
  pump();
}

function pump(): void {
  const o = opening;
  const r = request;
  if (!o || !r) return;
  while (o.next < r.count && o.inFlight < r.concurrency) {
    const subscriber = new Subscriber(r.port, filterOf(r.first + o.next, r.distinct));
    subscribers.push(subscriber);
    waiting.add(subscriber);
    o.next += 1;
    o.inFlight += 1;
  }
  if (o.settled === r.count) {
    opening = null;
    replyToRunner({
      type: "subscribed",
      subscribed: r.count - o.failed,
      failed: o.failed,
      firstError,
      ids: [...new Set(subscribers.map((s) => s.subscription).filter(Boolean))],
    });
  }
}

function delivered(subscriber: Subscriber): void {
  const p = phase;
  if (!p || subscriber.doneAt !== 0 || subscriber.events < p.through) return;
  subscriber.doneAt = Number(process.hrtime.bigint());
  p.complete += 1;
  if (p.complete === subscribers.length) report();
}

function report(): void {
  const p = phase;
  if (!p || p.reported) return;
  p.reported = true;
  const cpu = process.cpuUsage(p.cpu);
  replyToRunner({
    type: "delivered",
    connections: subscribers.length,
    complete: p.complete,
    events: subscribers.reduce((sum, s) => sum + s.events, 0),
    foreign: subscribers.reduce((sum, s) => sum + s.foreign, 0),
    names: [...names],
    closed,
    firstError,
    lastAt: Math.max(0, ...subscribers.map((s) => s.doneAt)),
    cpu: { user: cpu.user, system: cpu.system },
  });
}

process.on("message", (message: ClientRequest) => {
  switch (message.type) {
    case "connect":
      request = message;
      subscribers = [];
      opening = { next: 0, inFlight: 0, settled: 0, failed: 0 };
      pump();
      break;
    case "arm":
      for (const subscriber of subscribers) subscriber.doneAt = 0;
      phase = { through: message.through, complete: 0, cpu: process.cpuUsage(), reported: false };
      for (const subscriber of subscribers) delivered(subscriber);
      if (subscribers.length === 0) report();
      break;
    case "report":
      if (phase) phase.reported = false;
      report();
      break;
    case "exit":
      for (const subscriber of subscribers) subscriber.destroy();
      process.disconnect?.();
      setTimeout(() => process.exit(0), 200).unref();
      break;
  }
});

replyToRunner({ type: "started" });
