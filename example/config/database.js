// Strapi's SQLite default (better-sqlite3; aliased to libsql in the repository's package.json).
const path = require("node:path");
module.exports = ({ env }) => ({
  connection: {
    client: "sqlite",
    connection: { filename: env("DATABASE_FILENAME", path.join(__dirname, "..", ".tmp", "data.db")) },
    useNullAsDefault: true,
  },
});
