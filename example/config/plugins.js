// The io plugin from this repository (built into dist/ by `npm run build`). In your own app, install
// strapi-io and drop `resolve`.
const path = require("node:path");
module.exports = ({ env }) => ({
  "users-permissions": { config: { jwtSecret: env("JWT_SECRET", "example-users-permissions-jwt-secret") } },
  io: {
    enabled: true,
    resolve: path.join(__dirname, "..", ".."),
    config: {
      // `auto`: uWebSockets.js on its own port (IO_PORT) where it loads, else node:http on Strapi's port.
      // IO_TRANSPORT=node-http puts Socket.IO on Strapi's port. The page asks GET /io-config.json where
      // to connect, so every choice works.
      transport: { type: env("IO_TRANSPORT", "auto"), host: env("HOST", "127.0.0.1"), port: env.int("IO_PORT", 1338) },
    },
  },
});
