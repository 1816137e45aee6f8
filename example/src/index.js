// The example app's own register/bootstrap: serves the demo page, tells it where Socket.IO listens, and
// opens the article API to the public role so that a newcomer can watch events without logging in.
const fs = require("node:fs");
const path = require("node:path");

const ARTICLE = "api::article.article";
/** Demo setting: anyone may read AND create articles. A real app grants `create` to a logged-in role. */
const PUBLIC_ACTIONS = ["find", "findOne", "create"].map((action) => `${ARTICLE}.${action}`);

module.exports = {
  register({ strapi }) {
    const page = path.join(strapi.dirs.static.public, "index.html");
    strapi.server.routes([
      {
        // The demo page. Registered before strapi::public's own `GET /` (a redirect to the admin panel,
        // which the demo does not serve), so this one answers.
        method: "GET",
        path: "/",
        handler(ctx) {
          ctx.type = "html";
          ctx.body = fs.createReadStream(page);
        },
        config: { auth: false },
      },
      {
        // Where the page connects: this port on its own hostname. Read per request, because with the
        // node-http transport the port is Strapi's own, known only once it listens.
        method: "GET",
        path: "/io-config.json",
        handler(ctx) {
          ctx.body = { port: strapi.$io.port, transport: strapi.$io.transport };
        },
        config: { auth: false },
      },
    ]);
  },

  async bootstrap({ strapi }) {
    // Runs after the plugins' bootstraps, so users-permissions has created its roles by now.
    const role = await strapi.db.query("plugin::users-permissions.role").findOne({ where: { type: "public" } });
    const permissions = strapi.db.query("plugin::users-permissions.permission");
    const granted = await permissions.findMany({ where: { role: role.id, action: { $in: PUBLIC_ACTIONS } } });
    const have = new Set(granted.map((permission) => permission.action));
    for (const action of PUBLIC_ACTIONS.filter((action) => !have.has(action))) {
      await permissions.create({ data: { action, role: role.id } });
      strapi.log.info(`example: granted the public role ${action} (a demo setting)`);
    }
  },
};
