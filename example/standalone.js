// A standalone strapi-io server with a live page: what `npm start` runs until the Strapi example app lands.
// Open http://localhost:1337 and watch events arrive over Socket.IO (on uWS, port 1338).
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { createSocketIO } from "../dist/mod.js";

const require = createRequire(import.meta.url);
// socket.io-client's exports map hides dist/; find the package root from its entry point.
const clientEntry = require.resolve("socket.io-client");
const clientBundle = readFileSync(join(clientEntry.slice(0, clientEntry.lastIndexOf("socket.io-client") + "socket.io-client".length), "dist", "socket.io.min.js"));
const page = readFileSync(new URL("./standalone.html", import.meta.url));
const pagePort = Number(process.env.PORT ?? 1337);
const ioPort = Number(process.env.IO_PORT ?? 1338);

const io = await createSocketIO({
  transport: { port: ioPort },
  socket: { serverOptions: { cors: { origin: "*" } } },
});

createServer((req, res) => {
  if (req.url === "/socket.io.min.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(clientBundle);
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(String(page).replace("__IO_PORT__", String(io.port)));
}).listen(pagePort, () => console.log(`strapi-io demo: open http://localhost:${pagePort} (Socket.IO over ${io.transport} on port ${io.port})`));

let count = 0;
setInterval(() => {
  count += 1;
  void io.emit({ event: "create", schema: "api::article.article", data: { documentId: `demo-${count}`, title: `Article ${count}` } });
}, 2000);
