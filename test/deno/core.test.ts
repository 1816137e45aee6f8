/**
 * The `$io` core under Deno: mod.ts imports, `auto` falls back to node-http (saying why), and the core
 * works end to end with the real socket.io-client. Run by `npm test` through `deno test`.
 */
import { io as connect, type Socket } from "socket.io-client";
import { createSocketIO, type Logger, resolvePluginOptions, strapiPlugin } from "../../mod.ts";

function assertEquals(actual: unknown, expected: unknown, message = ""): void {
  const [a, e] = [JSON.stringify(actual), JSON.stringify(expected)];
  if (a !== e) throw new Error(`${message} expected ${e}, got ${a}`);
}

function next<T>(socket: Socket, event: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), 3000);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

Deno.test("$io core runs under Deno over node-http", async () => {
  const info: string[] = [];
  const logger: Logger = { debug() {}, info: (m) => void info.push(m), warn() {}, error() {} };
  const io = await createSocketIO({
    transport: { port: 0, host: "127.0.0.1" },
    namespaces: ["chat"],
  }, { logger });
  const clients: Socket[] = [];
  const open = async (path = "") => {
    const socket = connect(`http://127.0.0.1:${io.port}${path}`, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
    });
    clients.push(socket);
    await next(socket, "connect");
    return socket;
  };
  try {
    assertEquals(io.transport, "node-http", "auto picks node-http on Deno:");
    assertEquals(info.some((line) => line.includes("this runtime is Deno")), true, "says why:");

    const [a, b, chat] = await Promise.all([open(), open(), open("/chat")]);
    const raw = next(b, "news");
    await io.raw({ event: "news", data: { exact: [1, "two"] } });
    assertEquals(await raw, { exact: [1, "two"] }, "raw:");

    assertEquals(io.joinRoom(a.id!, "room"), true, "joinRoom:");
    assertEquals(io.joinRoom("missing", "room"), false, "joinRoom unknown:");
    assertEquals((await io.getSocketsInRoom("room")).map((s) => s.id), [a.id], "getSocketsInRoom:");

    const dm = next(a, "dm");
    io.sendPrivateMessage(a.id!, "dm", "hi");
    assertEquals(await dm, "hi", "sendPrivateMessage:");

    const bc = next(b, "bc");
    io.broadcast(a.id!, "bc", 1);
    assertEquals(await bc, 1, "broadcast:");

    const ns = next(chat, "ns");
    io.emitToNamespace("chat", "ns", "chat only");
    assertEquals(await ns, "chat only", "emitToNamespace:");

    const sub = await io.subscribeToEntity(b.id!, "api::article.article", "d1");
    assertEquals(sub.success, true, "subscribeToEntity:");
    const entity = next(b, "article:update");
    io.emitToEntity("api::article.article", "d1", "article:update", { data: { documentId: "d1" } });
    assertEquals(await entity, { data: { documentId: "d1" } }, "emitToEntity:");

    const content = next(a, "article:create");
    await io.emit({ event: "create", schema: "api::article.article", data: { documentId: "d2" } });
    assertEquals(await content, { data: { documentId: "d2" } }, "emit:");

    const notice = next(a, "strapi-io:disconnect");
    assertEquals(io.disconnectSocket(a.id!, "bye"), true, "disconnectSocket:");
    assertEquals(await notice, { reason: "bye" }, "disconnect notice:");
  } finally {
    for (const socket of clients) socket.disconnect();
    await io.close();
  }
});

Deno.test("the Strapi plugin's modules load under Deno and validate config the same way", () => {
  assertEquals(typeof strapiPlugin.bootstrap, "function", "strapiPlugin:");
  const resolved = resolvePluginOptions({
    contentTypes: ["api::article.article"],
    emitPermission: "action",
  });
  assertEquals(
    [resolved.emitPermission, Array.isArray(resolved.contentTypes)],
    ["action", true],
    "resolvePluginOptions:",
  );
  let message = "";
  try {
    resolvePluginOptions({ emitPermission: "write" as never });
  } catch (error) {
    message = (error as Error).message;
  }
  assertEquals(
    message,
    "strapi-io: 'emitPermission' must be one of read, action, got 'write'",
    "bad config:",
  );
});
