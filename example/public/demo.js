// The demo page: connects to strapi-io over WebSocket, lists article events as they arrive, and creates
// articles over Strapi's REST API. Plain browser JavaScript, no build step.
const ARTICLE_EVENTS = ["create", "update", "delete", "publish", "unpublish"].map((action) => `article:${action}`);
const $ = (id) => document.getElementById(id);

/** Everything the socket received, as it arrived: what left the server (the browser test reads it too). */
window.strapiIoDemo = { received: [] };

function setStatus(state, detail = "") {
  $("status").dataset.state = state;
  $("status").textContent = state;
  $("status-detail").textContent = detail;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // textContent: titles come from anyone, never HTML
  return node;
}

function showEvent(event, payload) {
  const doc = payload?.data ?? {};
  const item = element("li", "event");
  item.dataset.event = event;
  item.append(
    element("span", `badge ${event.split(":")[1]}`, event),
    doc.title === undefined
      ? element("span", "title none", event === "article:delete" ? "deleted" : "no title")
      : element("strong", "title", doc.title),
    element("code", "document-id", doc.documentId ?? ""),
    element("time", "", new Date().toLocaleTimeString()),
  );
  const details = element("details");
  details.append(element("summary", "", "payload"), element("pre", "", JSON.stringify(payload, null, 2)));
  item.append(details);
  $("events").prepend(item);
  $("empty").hidden = true;
}

/** The live list: the documents of the filtered subscription, by documentId. */
const live = { subscription: undefined, documents: new Map() };

function renderLiveList() {
  const list = $("live-list");
  list.replaceChildren(
    ...[...live.documents.values()].map((doc) => {
      const item = element("li", "live-item", doc.title ?? "no title");
      item.dataset.documentId = doc.documentId;
      return item;
    }),
  );
  $("live-empty").hidden = live.documents.size > 0;
}

/**
 * Subscribes to the live list (again after a reconnect that could not resume: a new session). The
 * acknowledgement is a callback, not `await emitWithAck()`: a callback runs as soon as the answer is
 * read, before the changes the server sends right after it (an `await` would resume only after the
 * handlers of whatever arrived in the same read, and those changes would miss the list).
 */
function subscribeLiveList(socket) {
  const query = {
    uid: "api::article.article",
    filters: { title: { $containsi: "live" } },
    snapshot: { limit: 10, sort: "createdAt:desc" },
  };
  socket.emit("subscribe", query, (answer) => {
    if (!answer.success) return setStatus("connected", `live list refused: ${answer.error}`);
    live.subscription = answer.subscription;
    live.documents = new Map(answer.snapshot.data.map((doc) => [doc.documentId, doc]));
    renderLiveList();
  });
}

function applyToLiveList(event, payload) {
  if (!payload?.subscriptions?.includes(live.subscription)) return;
  if (event === "article:leave") live.documents.delete(payload.data.documentId);
  else live.documents.set(payload.data.documentId, payload.data);
  renderLiveList();
}

async function connect() {
  // Socket.IO listens on its own port (uWebSockets.js) or on Strapi's (node:http): the app says which.
  const { port, transport } = await (await fetch("/io-config.json")).json();
  const socket = io(`${location.protocol}//${location.hostname}:${port}`, { transports: ["websocket"] });
  socket.on("connect", () => {
    setStatus("connected", `over ${transport}, port ${port}`);
    if (!socket.recovered) subscribeLiveList(socket);
  });
  socket.on("disconnect", (reason) => setStatus("disconnected", reason));
  socket.on("connect_error", (error) => setStatus("connect_error", error.message));
  socket.onAny((event, payload) => {
    window.strapiIoDemo.received.push({ event, payload });
    if (ARTICLE_EVENTS.includes(event)) showEvent(event, payload);
    if (event.startsWith("article:")) applyToLiveList(event, payload);
  });
}

async function createArticle(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const fields = Object.fromEntries(new FormData(form));
  const data = { title: fields.title, body: fields.body };
  if (fields.internalNotes) data.internalNotes = fields.internalNotes;
  const result = $("create-result");
  result.className = "";
  result.textContent = "creating…";
  try {
    const response = await fetch("/api/articles", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data }),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
    result.textContent = `Created ${body.data.documentId}. Watch its event arrive.`;
    form.reset();
  } catch (error) {
    result.className = "error";
    result.textContent = `Not created: ${error.message}`;
  }
}

$("curl").textContent = `curl ${location.origin}/api/articles \\
  -H 'content-type: application/json' \\
  -d '{"data":{"title":"From curl"}}'`;
$("create").addEventListener("submit", createArticle);
connect().catch((error) => setStatus("connect_error", error.message));
