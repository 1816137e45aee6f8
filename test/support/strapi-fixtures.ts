/**
 * Fixture helpers for a booted Strapi: permissions on users-permissions roles, users with a JWT, API tokens,
 * REST calls, and socket.io-client connections to the plugin's transport. Everything goes through Strapi's
 * own services, so lifecycles fire as they do when an admin makes the same change.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import { io as connect, type Socket as ClientSocket } from "socket.io-client";
import { until } from "./harness.ts";
import type { BootedStrapi } from "./strapi.ts";

const ROLE = "plugin::users-permissions.role";
const PERMISSION = "plugin::users-permissions.permission";

/** The users-permissions role with this `type` (`public`, `authenticated`, or one created by {@link createRole}). */
export async function roleId(app: BootedStrapi, type: string): Promise<number> {
  const role = await app.strapi.db.query(ROLE).findOne({ where: { type } });
  if (!role) throw new Error(`no role of type '${type}'`);
  return role.id;
}

/** Creates a role with these actions (e.g. `api::article.article.find`). */
export async function createRole(
  app: BootedStrapi,
  type: string,
  actions: string[] = [],
): Promise<number> {
  const role = await app.strapi.db.query(ROLE).create({
    data: { name: type, description: type, type },
  });
  await grant(app, type, actions);
  return role.id;
}

/** Grants actions to a role, as the admin's Roles screen does (one permission row per action). */
export async function grant(app: BootedStrapi, type: string, actions: string[]): Promise<void> {
  const role = await roleId(app, type);
  for (const action of actions) {
    await app.strapi.db.query(PERMISSION).create({ data: { action, role } });
  }
}

/** Revokes actions from a role. */
export async function revoke(app: BootedStrapi, type: string, actions: string[]): Promise<void> {
  const role = await roleId(app, type);
  for (const action of actions) {
    await app.strapi.db.query(PERMISSION).delete({ where: { action, role } });
  }
}

export interface FixtureUser {
  id: number;
  jwt: string;
}

let userCount = 0;

/** Creates a users-permissions user in a role and issues its JWT. */
export async function createUser(
  app: BootedStrapi,
  roleType = "authenticated",
  extra: Record<string, unknown> = {},
): Promise<FixtureUser> {
  userCount += 1;
  const usersPermissions = app.strapi.plugin("users-permissions");
  const user = await usersPermissions.service("user").add({
    username: `user${userCount}-${Date.now()}`,
    email: `user${userCount}-${Date.now()}@example.test`,
    password: "Password123",
    provider: "local",
    confirmed: true,
    blocked: false,
    role: await roleId(app, roleType),
    ...extra,
  });
  const jwt = await usersPermissions.service("jwt").issue({ id: user.id });
  return { id: user.id, jwt };
}

/** Creates a content-API token and returns its plaintext access key and id. */
export async function createToken(
  app: BootedStrapi,
  type: "read-only" | "full-access" | "custom",
  permissions: string[] = [],
): Promise<{ id: number; accessKey: string }> {
  const service = app.strapi.service("admin::api-token-content-api");
  const token = await service.create({
    name: `${type}-${Date.now()}-${Math.random()}`,
    type,
    lifespan: null,
    permissions,
  });
  return { id: token.id, accessKey: token.accessKey };
}

/** A REST call against the app, JSON in and out. */
export async function rest(
  app: BootedStrapi,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${app.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

/** Opens socket.io-client connections to the plugin and closes them all on `closeAll()`. */
export function socketsFor(app: BootedStrapi) {
  const opened: ClientSocket[] = [];
  const open = (auth?: Record<string, unknown>, namespace = "") => {
    const socket = connect(`${app.ioUrl}${namespace}`, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      auth: auth ?? {},
    });
    opened.push(socket);
    return socket;
  };
  return {
    /** Connects and resolves once connected (rejects with the connect_error). */
    connect: (auth?: Record<string, unknown>, namespace?: string) =>
      new Promise<ClientSocket>((resolve, reject) => {
        const socket = open(auth, namespace);
        socket.once("connect", () => resolve(socket));
        socket.once("connect_error", reject);
      }),
    /** Connects and resolves with the connect_error the handshake gets. */
    refused: (auth?: Record<string, unknown>, namespace?: string) =>
      new Promise<Error & { data?: { code: string; message: string } }>((resolve, reject) => {
        const socket = open(auth, namespace);
        socket.once("connect", () => reject(new Error("expected the handshake to be refused")));
        socket.once("connect_error", resolve);
      }),
    closeAll: () => {
      for (const socket of opened) socket.disconnect();
    },
  };
}

/** Resolves once `check()` is true, polling; rejects with `what` after `ms`. */
export function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = 3000,
): Promise<void> {
  return until(check, what, ms);
}
