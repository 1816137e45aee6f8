// Strapi's defaults, with a CSP that lets the page reach the Socket.IO port.
module.exports = [
  "strapi::logger",
  "strapi::errors",
  {
    name: "strapi::security",
    config: {
      contentSecurityPolicy: {
        useDefaults: true,
        // The page opens a WebSocket to the io port, which is another origin than Strapi's.
        directives: { "connect-src": ["'self'", "https:", "ws:", "wss:"] },
      },
    },
  },
  "strapi::cors",
  "strapi::poweredBy",
  "strapi::query",
  "strapi::body",
  "strapi::session",
  "strapi::favicon", // serves favicon.png from the app root
  "strapi::public",
];
