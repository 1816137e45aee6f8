/**
 * Resumable delivery (`recovery`) in a real Strapi 5.54.0, with the stock socket.io-client: a client that
 * loses its connection and comes back as the same user or token, in the same role, gets exactly the
 * content events it missed, each the copy its role was sent while it was away; a change of permissions,
 * of role, a block or a revoked token while it was away means no replay (or no connection at all).
 * Every connected client ends with a marker, so that "nothing more arrived" is a fact, not a wait.
 */
// REST bodies and content-event payloads cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import { MARKER, untilMarker } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import {
  createRole,
  createToken,
  createUser,
  eventually,
  grant,
  rest,
  socketsFor,
} from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";
const CATEGORY = "api::category.category";
const USER = "plugin::users-permissions.user";
const READ_ARTICLES = [`${ARTICLE}.find`, `${ARTICLE}.findOne`];

type Received = [event: string, ...args: unknown[]];

/** Records every event a client receives, offsets included. */
function record(client: ClientSocket): Received[] {
  const received: Received[] = [];
  client.onAny((event: string, ...args: unknown[]) => void received.push([event, ...args]));
  return received;
}

/** What was received, without markers. */
function withoutMarkers(received: Received[]): Received[] {
  return received.filter(([event]) => event !== MARKER);
}

/** What was received, without the offsets (each checked to be one) and without markers. */
function withoutOffsets(received: Received[]): Array<[string, any]> {
  return withoutMarkers(received).map(([event, ...args]) => {
    const offset = args.pop();
    assert.match(String(offset), /^[0-9a-z]+\.[0-9a-z]+$/, `${event} ends with its offset`);
    assert.equal(args.length, 1, `${event} carries one argument besides its offset`);
    return [event, args[0]];
  });
}

describe("recovery in Strapi", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;
  let fullAccess: string;
  let roles = 0;

  before(async () => {
    app = await bootStrapi({ transport: { type: "uws", port: 0, host: "127.0.0.1" } });
    sockets = socketsFor(app);
    await grant(app, "public", READ_ARTICLES);
    fullAccess = (await createToken(app, "full-access")).accessKey;
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  /** A fresh role that may read articles (created before anyone drops: creating it is an access change). */
  async function readersRole(): Promise<string> {
    roles += 1;
    const type = `recovery-readers-${roles}`;
    await createRole(app, type, READ_ARTICLES);
    return type;
  }

  /** Closes the client's connection as a network failure would, and waits until the server noticed. */
  async function drop(client: ClientSocket): Promise<string> {
    const id = client.id!;
    client.io.engine.close();
    await eventually(() => !app.io.server.sockets.sockets.has(id), "the server saw the drop");
    return id;
  }

  /** Connects a dropped client again (same socket object: same session id and offset) and waits. */
  function reconnect(client: ClientSocket): Promise<void> {
    return new Promise((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("connect_error", reject);
      client.connect();
    });
  }

  /** Creates a published article over REST, as an admin's integration would. */
  async function createArticle(data: Record<string, unknown>): Promise<string> {
    const created = await rest(app, "POST", "/api/articles", { data }, fullAccess);
    assert.equal(created.status, 201);
    return created.json.data.documentId;
  }

  /**
   * Waits until `observer` has received `events` article events. One `emit()` sends every audience its
   * copy at once, so the copies for clients away are in the replay buffer by then.
   */
  async function untilEmitted(observer: Received[], events: number): Promise<void> {
    await eventually(
      () => withoutMarkers(observer).length >= events,
      `${events} content event(s) emitted`,
      5000,
    );
  }

  it("a user who comes back gets exactly the content events it missed, its role's copies, in order, once", async () => {
    const role = await readersRole();
    const away = await sockets.connect({ token: (await createUser(app, role)).jwt });
    const reference = await sockets.connect({ token: (await createUser(app, role)).jwt });
    const received = record(away);
    const seenByReference = record(reference);
    assert.equal(away.recovered, false, "a first connection is not a recovery");

    const id = await drop(away);
    const documentId = await createArticle({ title: "Missed", internalNotes: "private" });
    const updated = await rest(app, "PUT", `/api/articles/${documentId}`, {
      data: { title: "Missed, edited" },
    }, fullAccess);
    assert.equal(updated.status, 200);
    await untilEmitted(seenByReference, 2);

    await reconnect(away);
    assert.equal(away.recovered, true, "the client knows it recovered");
    assert.equal(away.id, id, "same socket id");
    assert.equal(app.io.server.sockets.sockets.get(id)?.recovered, true, "so does the server");
    await untilMarker(app.io, away, reference);

    const missed = withoutOffsets(received);
    assert.deepEqual(missed.map(([event]) => event), ["article:create", "article:update"]);
    assert.deepEqual(missed.map(([, payload]) => payload.data.title), ["Missed", "Missed, edited"]);
    for (const [, payload] of missed) {
      assert.equal(payload.data.documentId, documentId);
      assert.equal("internalNotes" in payload.data, false, "private fields never leave the server");
    }
    // The very packets the role's connected socket got, offsets included: no copy sanitized for anyone else.
    assert.deepEqual(withoutMarkers(received), withoutMarkers(seenByReference));
  });

  it("a user whose role's permissions changed while it was away is not recovered and is replayed nothing", async () => {
    const role = await readersRole();
    const away = await sockets.connect({ token: (await createUser(app, role)).jwt });
    const reference = record(
      await sockets.connect({ token: (await createUser(app, role)).jwt }),
    );
    const received = record(away);

    const id = await drop(away);
    await createArticle({ title: "Sanitized under the old permissions" });
    await untilEmitted(reference, 1);
    await grant(app, role, [`${CATEGORY}.find`]);

    await reconnect(away);
    assert.equal(away.recovered, false);
    assert.notEqual(away.id, id, "a fresh session");
    await untilMarker(app.io, away);
    assert.deepEqual(withoutOffsets(received), []);
  });

  it("a user blocked while away is refused at the handshake and is sent nothing", async () => {
    const role = await readersRole();
    const user = await createUser(app, role);
    const away = await sockets.connect({ token: user.jwt });
    const reference = record(
      await sockets.connect({ token: (await createUser(app, role)).jwt }),
    );
    const received = record(away);

    await drop(away);
    await app.strapi.db.query(USER).update({ where: { id: user.id }, data: { blocked: true } });
    await createArticle({ title: "Not for a blocked user" });
    await untilEmitted(reference, 1);

    const refused: any = await reconnect(away).then(
      () => assert.fail("expected the handshake to be refused"),
      (error) => error,
    );
    assert.equal(refused.data?.code, "user_blocked");
    assert.equal(away.connected, false);
    assert.deepEqual(received, []);
  });

  it("an API token alone in its audience gets its own copy of what it missed, as it reads it over REST", async () => {
    // Each token is its own audience: while away, no connected socket is in its room.
    const token = await createToken(app, "read-only");
    const away = await sockets.connect({ token: token.accessKey });
    const observer = record(await sockets.connect());
    const received = record(away);

    const id = await drop(away);
    const documentId = await createArticle({ title: "For the token", internalNotes: "private" });
    await untilEmitted(observer, 1);

    await reconnect(away);
    assert.equal(away.recovered, true);
    assert.equal(away.id, id);
    await untilMarker(app.io, away);

    const fetched = await rest(
      app,
      "GET",
      `/api/articles/${documentId}`,
      undefined,
      token.accessKey,
    );
    assert.equal(fetched.status, 200);
    assert.equal("internalNotes" in fetched.json.data, false);
    assert.deepEqual(withoutOffsets(received), [["article:create", { data: fetched.json.data }]]);
  });

  it("an API token revoked while away is refused at the handshake and is sent nothing", async () => {
    const token = await createToken(app, "read-only");
    const away = await sockets.connect({ token: token.accessKey });
    const observer = record(
      await sockets.connect({ token: (await createToken(app, "read-only")).accessKey }),
    );
    const received = record(away);

    await drop(away);
    await createArticle({ title: "Not for a revoked token" });
    await untilEmitted(observer, 1);
    await app.strapi.service("admin::api-token-content-api").revoke(token.id);

    const refused: any = await reconnect(away).then(
      () => assert.fail("expected the handshake to be refused"),
      (error) => error,
    );
    assert.equal(refused.data?.code, "invalid_token");
    assert.equal(away.connected, false);
    assert.deepEqual(received, []);
  });

  it("a user moved to another role while away is not recovered, even when that role reads the same", async () => {
    const role = await readersRole();
    const otherRole = await readersRole(); // the same permissions, another audience
    const user = await createUser(app, role);
    const away = await sockets.connect({ token: user.jwt });
    const reference = record(
      await sockets.connect({ token: (await createUser(app, role)).jwt }),
    );
    const received = record(away);

    const id = await drop(away);
    await createArticle({ title: "Sent to the old role" });
    await untilEmitted(reference, 1);
    // A user change: no permission changed, so only the identity check can refuse the replay.
    const moved = await app.strapi.db.query("plugin::users-permissions.role").findOne({
      where: { type: otherRole },
    });
    await app.strapi.db.query(USER).update({ where: { id: user.id }, data: { role: moved.id } });

    await reconnect(away);
    assert.equal(away.recovered, false);
    assert.notEqual(away.id, id, "a fresh session");
    assert.equal(app.io.server.sockets.sockets.get(away.id!)?.data.role, otherRole);
    await untilMarker(app.io, away);
    assert.deepEqual(withoutOffsets(received), []);
  });

  it("a public client that comes back gets what was published while it was away, the public copy", async () => {
    const away = await sockets.connect();
    const reference = await sockets.connect();
    const received = record(away);
    const seenByReference = record(reference);

    const id = await drop(away);
    const documents = app.strapi.documents(ARTICLE);
    const draft = await documents.create({
      data: { title: "Published", internalNotes: "private" },
    });
    await documents.publish({ documentId: draft.documentId });
    await untilEmitted(seenByReference, 1);

    await reconnect(away);
    assert.equal(away.recovered, true);
    assert.equal(away.id, id);
    await untilMarker(app.io, away, reference);

    const missed = withoutOffsets(received);
    assert.deepEqual(missed.map(([event]) => event), ["article:publish"], "the draft is not sent");
    assert.equal(missed[0]![1].data.title, "Published");
    assert.equal("internalNotes" in missed[0]![1].data, false);
    assert.deepEqual(withoutMarkers(received), withoutMarkers(seenByReference));
  });
});
