/**
 * users-permissions in refresh mode (`jwtManagement: "refresh"`): access tokens belong to login sessions,
 * and a socket whose session ends (logout, revocation) does not stay connected.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { nextEvent, untilMarker } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { createUser, socketsFor } from "../support/strapi-fixtures.ts";

describe("JWT sessions (users-permissions refresh mode)", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;

  before(async () => {
    app = await bootStrapi({
      transport: { type: "uws", port: 0, host: "127.0.0.1" },
    }, { jwtManagement: "refresh" });
    sockets = socketsFor(app);
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  it("a session's access token connects as its user", async () => {
    const user = await createUser(app);
    const socket = await sockets.connect({ token: user.jwt, strategy: "jwt" });
    const [info] = await app.io.getSocketsInRoom(socket.id!);
    assert.equal(info?.userId, user.id);
  });

  it("ending the session (logout) disconnects its sockets, and says why", async () => {
    const user = await createUser(app);
    const other = await createUser(app);
    // The bystander connects between two sockets of the session, so it is checked before the last one is.
    const socket = await sockets.connect({ token: user.jwt });
    const bystander = await sockets.connect({ token: other.jwt });
    const sameSession = await sockets.connect({ token: user.jwt });
    const notices = [socket, sameSession].map((each) =>
      nextEvent<{ reason: string }>(each, "strapi-io:disconnect", 3000)
    );
    await app.strapi.sessionManager("users-permissions").invalidateRefreshToken(String(user.id));
    assert.deepEqual(await Promise.all(notices), [{ reason: "Session ended" }, {
      reason: "Session ended",
    }]);
    await untilMarker(app.io, bystander); // it still receives what the server sends it
    assert.equal(bystander.connected, true, "another user's session is untouched");
  });
});
