/**
 * Handshake authentication, with the checks Strapi's content API makes on a request: a content-API token
 * (read-only, full-access, custom; expired or unknown refused), a users-permissions JWT (refused when the
 * user is missing, blocked, or unconfirmed under email confirmation), or nothing (the public role).
 * Refusals are {@link HandshakeError}s, so the client's `connect_error` says why.
 *
 * Clients send `auth: { token, strategy? }` (or an `Authorization: Bearer` header); `strategy` is
 * `"api-token"` or `"jwt"`, and without it a token is tried as an API token first, then as a JWT — the
 * order Strapi's content API uses.
 *
 * @module
 */
import { HandshakeError } from "../access-policy.ts";
import type { IoSocket } from "../types.ts";
import { audienceKey } from "./audiences.ts";
import type { StrapiLike } from "./strapi-like.ts";

/** The strategies a client may name in `auth.strategy`. */
export const AUTH_STRATEGIES = ["api-token", "jwt"] as const;
/** A strategy a client may name. */
export type AuthStrategy = (typeof AUTH_STRATEGIES)[number];

/** Who a handshake authenticated as. */
export interface Authenticated {
  /** The audience the socket belongs to (`role:<id>` or `token:<id>`). */
  audience: string;
  /** `public`, the user's role type (`authenticated`, …), or `api-token:<type>`. */
  role: string;
  userId?: number;
  /** The API token's id and name, when the socket authenticated with one. */
  tokenId?: number;
  tokenName?: string;
  /** A summary of the user (never password or tokens); `null` for the public role and API tokens. */
  user: Record<string, unknown> | null;
  /** When the credential stops being valid (ms since epoch); the socket is disconnected then. */
  expiresAt?: number;
  /** An API token's stored key hash: a socket whose token is regenerated (new key) is disconnected. */
  keyHash?: string;
  /** The users-permissions session behind a JWT (refresh mode): a socket whose session ends is disconnected. */
  sessionId?: string;
}

/** The users-permissions user model uid. */
export const USER_UID = "plugin::users-permissions.user";

/** Authenticates a connecting socket from its handshake. */
export async function authenticateHandshake(
  strapi: StrapiLike,
  socket: IoSocket,
  publicAudience: string | undefined,
): Promise<Authenticated> {
  const { token, strategy } = readCredentials(socket);
  if (token === undefined) {
    if (publicAudience === undefined) {
      throw new HandshakeError(
        "unauthorized",
        "Authentication required: send auth: { token } (the users-permissions plugin, which provides the public role, is not installed)",
      );
    }
    return { audience: publicAudience, role: "public", user: null };
  }
  if (strategy !== "jwt") {
    const viaToken = await authenticateApiToken(strapi, token);
    if (viaToken) return viaToken;
    if (strategy === "api-token") throw new HandshakeError("invalid_token", "Invalid API token");
  }
  return authenticateJwt(strapi, token);
}

/** Reads `auth.token` / `auth.strategy` (or the Authorization header), refusing malformed values. */
function readCredentials(socket: IoSocket): { token?: string; strategy?: AuthStrategy } {
  const auth = (socket.handshake.auth ?? {}) as { token?: unknown; strategy?: unknown };
  let token = auth.token;
  if (token === undefined || token === null || token === "") {
    const header = socket.handshake.headers?.authorization;
    const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    token = match?.[1];
  }
  if (token !== undefined && typeof token !== "string") {
    throw new HandshakeError(
      "invalid_handshake",
      `'auth.token' must be a string, got ${typeof token}`,
    );
  }
  const strategy = auth.strategy;
  if (strategy !== undefined && !AUTH_STRATEGIES.includes(strategy as AuthStrategy)) {
    throw new HandshakeError(
      "invalid_handshake",
      `'auth.strategy' must be one of ${AUTH_STRATEGIES.join(", ")}, got ${
        JSON.stringify(strategy)
      }`,
    );
  }
  return { token: token as string | undefined, strategy: strategy as AuthStrategy | undefined };
}

async function authenticateApiToken(
  strapi: StrapiLike,
  accessKey: string,
): Promise<Authenticated | undefined> {
  const service = strapi.service("admin::api-token-content-api") ??
    strapi.service("admin::api-token");
  if (!service) return undefined;
  const keyHash: string = service.hash(accessKey);
  const token = await service.getByAccessKey(keyHash);
  if (!token) return undefined;
  if (token.kind !== undefined && token.kind !== null && token.kind !== "content-api") {
    return undefined;
  }
  const expiresAt = token.expiresAt ? new Date(token.expiresAt).getTime() : undefined;
  if (expiresAt !== undefined && expiresAt <= Date.now()) {
    throw new HandshakeError("token_expired", "API token expired");
  }
  const authenticated: Authenticated = {
    audience: audienceKey("token", token.id),
    role: `api-token:${token.type}`,
    user: null,
    keyHash,
    tokenId: token.id,
  };
  if (typeof token.name === "string") authenticated.tokenName = token.name;
  if (expiresAt !== undefined) authenticated.expiresAt = expiresAt;
  return authenticated;
}

async function authenticateJwt(strapi: StrapiLike, token: string): Promise<Authenticated> {
  const usersPermissions = strapi.plugin("users-permissions");
  if (!usersPermissions) throw new HandshakeError("invalid_token", "Invalid token");
  let payload: { id?: unknown; sessionId?: unknown };
  try {
    payload = await usersPermissions.service("jwt").verify(token);
  } catch {
    const expiry = jwtExpiry(token);
    if (expiry !== undefined && expiry <= Date.now()) {
      throw new HandshakeError("token_expired", "Token expired");
    }
    throw new HandshakeError("invalid_token", "Invalid token");
  }
  if (payload?.id === undefined) throw new HandshakeError("invalid_token", "Invalid token");
  const user = await usersPermissions.service("user").fetchAuthenticatedUser(payload.id);
  if (!user) throw new HandshakeError("invalid_token", "Invalid token: the user no longer exists");
  if (user.blocked) throw new HandshakeError("user_blocked", "User is blocked");
  const advanced = await strapi.store({ type: "plugin", name: "users-permissions" }).get({
    key: "advanced",
  });
  if (advanced?.email_confirmation && !user.confirmed) {
    throw new HandshakeError("user_not_confirmed", "User email is not confirmed");
  }
  if (!user.role) throw new HandshakeError("invalid_token", "User has no role");
  const authenticated: Authenticated = {
    audience: audienceKey("role", user.role.id),
    role: String(user.role.type),
    userId: user.id,
    user: userSummary(user),
  };
  const expiresAt = jwtExpiry(token);
  if (expiresAt !== undefined) authenticated.expiresAt = expiresAt;
  if (typeof payload.sessionId === "string") authenticated.sessionId = payload.sessionId;
  return authenticated;
}

/** The user fields `$io` reports (getEntityRoomSockets, socket.data.user): identifiers and names only. */
function userSummary(
  user: { id: number; documentId?: string; username?: string; email?: string },
): Record<string, unknown> {
  return { id: user.id, documentId: user.documentId, username: user.username, email: user.email };
}

/** The `exp` claim of a JWT in ms, read without verifying (only used to time a disconnect or word a refusal). */
function jwtExpiry(token: string): number | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const { exp } = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as {
      exp?: unknown;
    };
    return typeof exp === "number" ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
