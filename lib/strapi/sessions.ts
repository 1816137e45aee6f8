/**
 * Keeps connected sockets true to their credentials after the handshake: a socket is disconnected (with
 * a reason it receives as `strapi-io:disconnect`) when its token expires or is revoked, or its user is
 * blocked or deleted; a user whose role changes is moved to the new role's audience without reconnecting.
 *
 * @module
 */
import type { Logger } from "../logger.ts";
import { audienceRoom } from "../room-names.ts";
import type { IoSocket } from "../types.ts";
import { audienceKey, type Audiences } from "./audiences.ts";
import { USER_UID } from "./auth.ts";
import type { StrapiLike } from "./strapi-like.ts";

/** What can change, as the change watcher reports it. */
export const ACCESS_CHANGES = ["permissions", "users", "tokens", "sessions"] as const;
/** What changed. */
export type AccessChange = (typeof ACCESS_CHANGES)[number];

/** What a socket authenticated with, as far as later checks need it. */
export interface Credentials {
  expiresAt?: number;
  keyHash?: string;
  sessionId?: string;
}

/** What each connected socket authenticated with: written by the policy at the handshake, read by {@link Sessions}. */
export type CredentialStore = WeakMap<IoSocket, Credentials>;

/** setTimeout's longest delay; later expiries are re-armed in steps. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** The parts of `$io` sessions need. */
export interface SessionHost {
  /** Every socket connected to this process, in every served namespace. */
  localSockets(): Iterable<IoSocket>;
  disconnectSocket(socketId: string, reason?: string): boolean;
}

/** Expiry timers and post-change checks for the sockets connected to this process. */
export class Sessions {
  readonly #strapi: StrapiLike;
  readonly #audiences: Audiences;
  readonly #logger: Logger;
  readonly #host: SessionHost;
  readonly #credentials: CredentialStore;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    strapi: StrapiLike,
    audiences: Audiences,
    host: SessionHost,
    credentials: CredentialStore,
    logger: Logger,
  ) {
    this.#strapi = strapi;
    this.#audiences = audiences;
    this.#host = host;
    this.#credentials = credentials;
    this.#logger = logger;
  }

  /** Arms the socket's expiry timer and clears it when the socket leaves. */
  attach(socket: IoSocket): void {
    const expiresAt = this.#credentials.get(socket)?.expiresAt;
    if (expiresAt !== undefined) this.#arm(socket, expiresAt);
    socket.on("disconnect", () => this.#clear(socket.id));
  }

  /** After a change of roles, permissions, users or tokens: disconnects or moves the sockets it affects. */
  async reconcile(changes: ReadonlySet<AccessChange>): Promise<void> {
    const host = this.#host;
    const sockets = [...host.localSockets()];
    if (sockets.length === 0) return;
    const snapshot = await this.#audiences.current();
    const usersToCheck = new Set(
      changes.has("users") ? sockets.filter((socket) => socket.data.userId !== undefined) : [],
    );
    for (const socket of sockets) {
      const key = socket.data.audience;
      const audience = key === undefined ? undefined : snapshot.audiences.get(key);
      if (key?.startsWith("token:")) {
        if (!audience) host.disconnectSocket(socket.id, "API token revoked");
        else if (
          audience.keyHash !== undefined &&
          audience.keyHash !== this.#credentials.get(socket)?.keyHash
        ) host.disconnectSocket(socket.id, "API token regenerated");
      } else if (!audience) {
        // A deleted role's users are moved to another role by users-permissions: follow the user.
        if (socket.data.userId !== undefined) usersToCheck.add(socket);
        else host.disconnectSocket(socket.id, "Role deleted");
      }
    }
    if (changes.has("tokens")) this.#rearmTokenExpiries(sockets, snapshot.audiences);
    await this.#checkUsers([...usersToCheck].filter((socket) => socket.connected));
    if (changes.has("sessions")) {
      await this.#checkSessions(sockets.filter((socket) => socket.connected));
    }
  }

  /** Disconnects sockets whose users-permissions session (refresh mode) has ended: logout, revocation, expiry. */
  async #checkSessions(sockets: IoSocket[]): Promise<void> {
    const withSession = sockets.filter((socket) =>
      this.#credentials.get(socket)?.sessionId !== undefined
    );
    if (withSession.length === 0 || !this.#strapi.sessionManager) return;
    const sessions = this.#strapi.sessionManager("users-permissions");
    for (const socket of withSession) {
      if (!(await sessions.isSessionActive(this.#credentials.get(socket)!.sessionId!))) {
        this.#host.disconnectSocket(socket.id, "Session ended");
      }
    }
  }

  /** Clears every timer (plugin destroy). */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  async #checkUsers(sockets: IoSocket[]): Promise<void> {
    if (sockets.length === 0) return;
    const ids = [...new Set(sockets.map((socket) => socket.data.userId))];
    const users = await this.#strapi.db.query(USER_UID).findMany({
      where: { id: { $in: ids } },
      populate: ["role"],
    });
    const byId = new Map(users.map((user) => [user.id, user]));
    for (const socket of sockets) {
      const user = byId.get(socket.data.userId);
      if (!user) this.#host.disconnectSocket(socket.id, "User deleted");
      else if (user.blocked) this.#host.disconnectSocket(socket.id, "User is blocked");
      else if (user.role) {
        this.#moveToRole(socket, audienceKey("role", user.role.id), String(user.role.type));
      }
    }
  }

  #moveToRole(socket: IoSocket, audience: string, role: string): void {
    const previous = socket.data.audience;
    if (previous === audience) return;
    // Leave before joining: a socket is in exactly one audience room at any time (deliveries rely on it).
    if (previous !== undefined) void socket.leave(audienceRoom(previous));
    void socket.join(audienceRoom(audience));
    socket.data.audience = audience;
    socket.data.role = role;
    this.#logger.debug(`socket ${socket.id} moved to role '${role}'`);
  }

  #rearmTokenExpiries(
    sockets: IoSocket[],
    audiences: ReadonlyMap<string, { expiresAt?: number }>,
  ): void {
    for (const socket of sockets) {
      const audience = socket.data.audience;
      if (!socket.connected || !audience?.startsWith("token:")) continue;
      const expiresAt = audiences.get(audience)?.expiresAt;
      this.#clear(socket.id);
      if (expiresAt !== undefined) this.#arm(socket, expiresAt);
    }
  }

  #arm(socket: IoSocket, expiresAt: number): void {
    const delay = expiresAt - Date.now();
    const timer = setTimeout(() => {
      this.#timers.delete(socket.id);
      if (Date.now() < expiresAt) this.#arm(socket, expiresAt);
      else {this.#host.disconnectSocket(
          socket.id,
          socket.data.audience?.startsWith("token:") ? "API token expired" : "Token expired",
        );}
    }, Math.max(0, Math.min(delay, MAX_TIMER_DELAY)));
    // Expiry timers must not keep a process alive on their own.
    (timer as { unref?: () => void }).unref?.();
    this.#timers.set(socket.id, timer);
  }

  #clear(socketId: string): void {
    const timer = this.#timers.get(socketId);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(socketId);
  }
}
