// Demo secrets: fine on a laptop, never in production (set them from the environment there).
module.exports = ({ env }) => ({
  auth: { secret: env("ADMIN_JWT_SECRET", "example-admin-jwt-secret") },
  apiToken: { salt: env("API_TOKEN_SALT", "example-api-token-salt") },
  transfer: { token: { salt: env("TRANSFER_TOKEN_SALT", "example-transfer-token-salt") } },
  secrets: { encryptionKey: env("ENCRYPTION_KEY", "example-encryption-key-32-chars!") },
});
