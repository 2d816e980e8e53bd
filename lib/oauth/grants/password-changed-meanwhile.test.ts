import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { flushAudit } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { hashPassword, passwordVerifier } from "@/lib/platform/passwords.ts";
import { replacePassword } from "@/lib/oauth/store/users.ts";
import { endUserSessions } from "@/lib/oauth/store/sessions.ts";
import { postToken, SPA } from "@/lib/testing/oauth.ts";

// A sign-in whose password was right when it was checked, and changed before the sign-in wrote its
// session (by the user on another device, by a reset, by an operator): the change ends every
// session there is, so the sign-in must not add one after it. Otherwise whoever knew the old
// password, and kept signing in with it, would keep a session through the change meant to end it.

const onPostgres = settings().databaseFile === undefined;

afterEach(() => {
  vi.restoreAllMocks();
});

/** A user of the demo workspace for one test, with alice's password; with a confirmed second factor when `mfa`. */
async function newUser({ mfa = false } = {}) {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  const user = await db().user.create({ data: { workspaceId, username: `changing-${randomUUID()}`, passwordHash } });
  if (mfa) await db().mfaFactor.create({ data: { userId: user.id, secret: "JBSWY3DPEHPK3PXP", confirmedAt: new Date() } });
  return { id: user.id, username: user.username, password: "alice-password-1" };
}

/** Runs `change` while the sign-in's password is being verified: after the sign-in read the user, before it writes. */
function duringVerification(change: () => Promise<unknown>) {
  const verify = passwordVerifier.verify.bind(passwordVerifier);
  vi.spyOn(passwordVerifier, "verify").mockImplementation(async (hash, password) => {
    const valid = await verify(hash, password);
    await change();
    return valid;
  });
}

const liveSessions = (userId: string) => db().session.count({ where: { userId, endedAt: null } });
const liveRefreshTokens = (userId: string) => db().refreshToken.count({ where: { userId, revokedAt: null } });

describe("a password changed while a sign-in with the old one runs", () => {
  it("gets no session: invalid_grant, as for a wrong password", async () => {
    const user = await newUser();
    const newHash = await hashPassword("a brand new passphrase");
    duringVerification(() => db().$transaction((tx) => replacePassword(tx, user.id, newHash)));
    const res = await postToken({ grant_type: "password", ...SPA, username: user.username, password: user.password });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "invalid username or password" });
    expect(await liveSessions(user.id)).toBe(0);
    expect(await liveRefreshTokens(user.id)).toBe(0);
    // No sign-in: the address is not made one the user is known from (spared limits, see brute-force.ts).
    expect(await db().knownAddress.count({ where: { userId: user.id } })).toBe(0);
    await flushAudit();
    const audit = await db().auditEvent.findFirst({ where: { userId: user.id, event: "token.password" }, orderBy: { createdAt: "desc" } });
    expect(audit).toMatchObject({ outcome: "failure", reason: "the password changed during the sign-in" });
  });

  it("gets no second-factor step either: invalid_grant, not mfa_required", async () => {
    const user = await newUser({ mfa: true });
    const newHash = await hashPassword("a brand new passphrase");
    duringVerification(() => db().$transaction((tx) => replacePassword(tx, user.id, newHash)));
    const res = await postToken({ grant_type: "password", ...SPA, username: user.username, password: user.password });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "invalid username or password" });
    expect(await db().mfaChallenge.count({ where: { userId: user.id } })).toBe(0);
  });

  it("changes nothing for a sign-in whose password stayed: a change of the name meanwhile is no change of the password", async () => {
    const user = await newUser();
    duringVerification(() => db().user.update({ where: { id: user.id }, data: { name: "Renamed Meanwhile" } }));
    const res = await postToken({ grant_type: "password", ...SPA, username: user.username, password: user.password, scope: "openid" });
    expect(res.status).toBe(200);
    expect(await liveSessions(user.id)).toBe(1);
  });

  // PostgreSQL gives each transaction a connection of its own: the change can be under way, its
  // sessions already ended but not yet committed, while the sign-in writes. The sign-in waits for
  // the change's lock on the user, then finds the password changed. (SQLite runs one transaction
  // at a time on one connection, and a server's never gives the event loop a turn while open.)
  it.runIf(onPostgres)("on PostgreSQL, waits for a change still under way and then gets no session", async () => {
    const user = await newUser();
    const newHash = await hashPassword("a brand new passphrase");
    let changed: Promise<unknown> = Promise.resolve();
    duringVerification(async () => {
      let ended: () => void = () => {};
      const sessionsEnded = new Promise<void>((resolve) => (ended = resolve));
      changed = db().$transaction(
        async (tx) => {
          await tx.user.update({ where: { id: user.id }, data: { passwordHash: newHash } });
          await endUserSessions(user.id, tx);
          ended();
          // Held open while the sign-in goes on to its write (a real pause: the point is the overlap).
          await new Promise((resolve) => setTimeout(resolve, 300));
        },
        { timeout: 10_000 },
      );
      await sessionsEnded;
    });
    const res = await postToken({ grant_type: "password", ...SPA, username: user.username, password: user.password });
    await changed;
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "invalid username or password" });
    expect(await liveSessions(user.id)).toBe(0);
    expect(await liveRefreshTokens(user.id)).toBe(0);
  });
});
