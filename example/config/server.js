// Loopback by default: the demo lets the public role create articles (see src/index.js). HOST overrides.
module.exports = ({ env }) => ({
  host: env("HOST", "127.0.0.1"),
  port: env.int("PORT", 1337),
  app: { keys: env.array("APP_KEYS", ["example-key-a", "example-key-b"]) },
  // No update check against the npm registry, and no startup banner: start.mjs prints where to go (the
  // demo page, and the admin panel unless started with --no-admin).
  logger: { updates: { enabled: false }, startup: { enabled: false } },
});
