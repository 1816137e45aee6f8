/**
 * The two strings a client holds for recovery, as strapi-io writes and reads them:
 * - the **offset** of each event (Socket.IO's scheme: appended as the event's last argument; the client
 *   keeps the last one it received): `<epoch>.<seq>`, where `epoch` names this node's replay stream (a new
 *   one per process) and `seq` is the event's place in it, in base 36;
 * - the **session id** (`pid`, sent in the CONNECT reply): a random part, the stream that issued it, and
 *   the position in it at the handshake, so that a client that received nothing before it dropped (it
 *   has no offset) still has a place to resume from — without any per-socket state on the server — and a
 *   node knows whether a session it does not hold is worth asking the others for.
 *
 * Both come back from the client and are parsed as untrusted input: bounded length, fixed alphabet.
 *
 * @module
 */

/** Longest offset or session id accepted from a client; longer is not ours. */
const MAX_LENGTH = 64;
const OFFSET = /^([0-9a-z]{1,16})\.([0-9a-z]{1,11})$/;
const SESSION_ID = /^[A-Za-z0-9_-]{16}\.[0-9a-z]{1,16}\.[0-9a-z]{1,11}$/;

/** A fresh stream name: 8 random base-36 characters. */
export function newEpoch(): string {
  return randomString(8, "0123456789abcdefghijklmnopqrstuvwxyz");
}

/** The offset of event `seq` of stream `epoch`. */
export function formatOffset(epoch: string, seq: number): string {
  return `${epoch}.${seq.toString(36)}`;
}

/** The position in stream `epoch` that `value` names, or `undefined` when it is not an offset of that stream. */
export function parseOffset(value: unknown, epoch: string): number | undefined {
  if (typeof value !== "string" || value.length > MAX_LENGTH) return undefined;
  const match = OFFSET.exec(value);
  if (!match || match[1] !== epoch) return undefined;
  return Number.parseInt(match[2] as string, 36);
}

/** A new session id for a socket that connects at position `seq` of stream `epoch`. */
export function newSessionId(epoch: string, seq: number): string {
  const random = randomString(
    16,
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
  );
  return `${random}.${epoch}.${seq.toString(36)}`;
}

/** Whether `value` has the shape of a session id (checked before it is used as a key). */
export function isSessionId(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_LENGTH && SESSION_ID.test(value);
}

/** The stream position a session id was issued at. */
export function sessionStart(pid: string): number {
  return Number.parseInt(pid.slice(pid.lastIndexOf(".") + 1), 36);
}

/** The stream that issued a session id. */
export function sessionEpoch(pid: string): string {
  return pid.slice(pid.indexOf(".") + 1, pid.lastIndexOf("."));
}

function randomString(length: number, alphabet: string): string {
  // 64 divides 256, so session ids are unbiased; the epoch's slight bias is harmless (it is no secret).
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}
