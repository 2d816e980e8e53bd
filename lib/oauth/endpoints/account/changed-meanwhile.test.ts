import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { pendingEmailOf } from "@/lib/oauth/store/account-tokens.ts";
import { endUserSessions } from "@/lib/oauth/store/sessions.ts";
import { changePassword as changePasswordInStore, replacePassword } from "@/lib/oauth/store/users.ts";
import { connection, someoneWaitsFor } from "@/lib/testing/pg-locks.ts";
import { hashPassword, passwordVerifier } from "@/lib/platform/passwords.ts";
import { basic, call, ISSUER, postToken, signIn, SPA, type Tokens } from "@/lib/testing/oauth.ts";
import { smtpServerForTheseTests } from "@/lib/testing/smtp.ts";

// A change a signed-in user proves with their password (a new password, a new address) is checked,
// then written; the check is an argon2 verification, tens of milliseconds. Whatever ends the
// session meanwhile (a password reset, "sign out other sessions", an operator's new password) must
// end the change too: else whoever had the password and a session could keep a change in flight
// and have it land after the owner's reset (their password replacing the owner's new one, or a
// confirmation link to their address that the reset did not spend).

const WEB = { Authorization: basic("demo-web", "demo-web-secret") };
const PASSWORD = "alice-password-1";
const RESET = "the owner's new passphrase";
const smtp = smtpServerForTheseTests("no-reply@example.com");

afterEach(() => backgroundSettled());
afterEach(() => vi.restoreAllMocks());

/** A user of their own for one test (alice's password), and two sessions of theirs: the intruder's and the owner's. */
async function newUser() {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  const username = `meanwhile-${randomUUID().slice(0, 8)}`;
  const user = await db().user.create({ data: { workspaceId, username, passwordHash, email: `${username}@example.com`, emailVerified: true } });
  const fields = { username, password: PASSWORD, scope: "openid account" };
  return { id: user.id, username, passwordHash, intruder: await signIn(fields, WEB), owner: await signIn(fields, WEB) };
}

const sid = (tokens: Tokens) => JSON.parse(Buffer.from(tokens.access_token.split(".")[1]!, "base64url").toString()).sid as string;

/** Runs `meanwhile` once, after the next password verification has decided and before its request goes on. */
function duringVerification(meanwhile: () => Promise<unknown>) {
  const verify = passwordVerifier.verify.bind(passwordVerifier);
  vi.spyOn(passwordVerifier, "verify").mockImplementationOnce(async (hash, password) => {
    const valid = await verify(hash, password);
    await meanwhile();
    return valid;
  });
}

/** The owner's reset (or an operator's new password): the one way every other change of password takes. */
const reset = (userId: string, hash: string) => db().$transaction((tx) => replacePassword(tx, userId, hash));

const changePassword = (tokens: Tokens) =>
  call(routes.accountPassword, `${ISSUER}/account/password`, {
    body: { current_password: PASSWORD, new_password: "the intruder's passphrase" },
    headers: { Authorization: `Bearer ${tokens.access_token}` },
  });

const changeEmail = (tokens: Tokens) =>
  call(routes.accountProfile, `${ISSUER}/account/profile`, {
    method: "PATCH",
    body: JSON.stringify({ email: "intruder@evil.example", current_password: PASSWORD }),
    headers: { Authorization: `Bearer ${tokens.access_token}`, "Content-Type": "application/json" },
  });

const signInStatus = async (username: string, password: string) => (await postToken({ grant_type: "password", ...SPA, username, password })).status;

const INVALID_TOKEN = { error: "invalid_token", error_description: "the access token is invalid" };

describe("a password change whose session ended while its current password was checked", () => {
  it("by the owner's reset: 401 invalid_token, and the reset's password stands", async () => {
    const user = await newUser();
    const resetHash = await hashPassword(RESET);
    duringVerification(() => reset(user.id, resetHash));
    const res = await changePassword(user.intruder);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="${ISSUER}", error="invalid_token", error_description="the access token is invalid"`);
    expect(await res.json()).toEqual(INVALID_TOKEN);
    expect((await db().user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash).toBe(resetHash);
    expect(await signInStatus(user.username, RESET)).toBe(200);
    expect(await signInStatus(user.username, "the intruder's passphrase")).toBe(400);
  });

  it("signed out by the owner's other session: 401, the password unchanged and the owner's session live", async () => {
    const user = await newUser();
    duringVerification(() => endUserSessions(user.id, undefined, sid(user.owner)));
    const res = await changePassword(user.intruder);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_TOKEN);
    expect((await db().user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash).toBe(user.passwordHash);
    expect(await db().session.findUniqueOrThrow({ where: { id: sid(user.owner) } })).toMatchObject({ endedAt: null });
  });

  it("changed by another request of the same session first: 403, the first change stands", async () => {
    const user = await newUser();
    const firstHash = await hashPassword("the first change's passphrase");
    // The same session's first change: the password replaced, this session kept.
    duringVerification(() =>
      db().$transaction((tx) => replacePassword(tx, user.id, firstHash, { sessionId: sid(user.intruder), whilePassword: user.passwordHash })),
    );
    const res = await changePassword(user.intruder);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the current password is wrong" });
    expect((await db().user.findUniqueOrThrow({ where: { id: user.id } })).passwordHash).toBe(firstHash);
  });
});

describe("a change whose user was deleted while its current password was checked", () => {
  it("a password change: 401 invalid_token, not a 500", async () => {
    const user = await newUser();
    duringVerification(() => db().user.delete({ where: { id: user.id } }));
    const res = await changePassword(user.intruder);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_TOKEN);
  });

  it("an email change: 401 invalid_token, not a 500, and no link mailed", async () => {
    const user = await newUser();
    await smtp.drain();
    duringVerification(() => db().user.delete({ where: { id: user.id } }));
    const res = await changeEmail(user.intruder);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_TOKEN);
    await backgroundSettled();
    expect(smtp.received.filter((mail) => mail.rcptTo.includes("intruder@evil.example"))).toEqual([]);
  });
});

describe("an email change whose session ended while its current password was checked", () => {
  it("by the owner's reset: 401 invalid_token, no address pending and no link mailed", async () => {
    const user = await newUser();
    const resetHash = await hashPassword(RESET);
    await smtp.drain();
    duringVerification(() => reset(user.id, resetHash));
    const res = await changeEmail(user.intruder);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_TOKEN);
    expect(await pendingEmailOf(user.id)).toBeNull();
    expect(await db().accountToken.count({ where: { userId: user.id, usedAt: null } })).toBe(0);
    await backgroundSettled();
    expect(smtp.received.filter((mail) => mail.rcptTo.includes("intruder@evil.example"))).toEqual([]);
  });

  it("signed out by the owner's other session: 401, no address pending", async () => {
    const user = await newUser();
    duringVerification(() => endUserSessions(user.id, undefined, sid(user.owner)));
    const res = await changeEmail(user.intruder);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_TOKEN);
    expect(await pendingEmailOf(user.id)).toBeNull();
  });

  it("a password changed by the same session meanwhile: 403, no address pending", async () => {
    const user = await newUser();
    const firstHash = await hashPassword("the first change's passphrase");
    duringVerification(() =>
      db().$transaction((tx) => replacePassword(tx, user.id, firstHash, { sessionId: sid(user.intruder), whilePassword: user.passwordHash })),
    );
    const res = await changeEmail(user.intruder);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the current password is wrong" });
    expect(await pendingEmailOf(user.id)).toBeNull();
  });

  it("with nothing in between: the address is pending and its link mailed (the test's own control)", async () => {
    const user = await newUser();
    await smtp.drain();
    const res = await changeEmail(user.intruder);
    expect(res.status).toBe(200);
    expect(await pendingEmailOf(user.id)).toBe("intruder@evil.example");
    expect((await smtp.nextMail()).rcptTo).toEqual(["intruder@evil.example"]);
  });
});

// On PostgreSQL a reset is a transaction of its own, and a change can run while it is open: the
// change's condition must hold against it whichever of the reset's writes came first. (On SQLite
// one connection serves every query: nothing interleaves with a transaction there.)
describe.runIf(settings().databaseFile === undefined)("on PostgreSQL, an email change during a reset's open transaction", () => {
  /** A reset's writes in the order replacePassword makes them, held open after `pauseAfter` of them until `release`. */
  function openReset(userId: string, hash: string, pauseAfter: "user" | "sessions") {
    let release!: () => void;
    let paused!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const reached = new Promise<void>((resolve) => (paused = resolve));
    const done = db().$transaction(
      async (tx) => {
        await tx.user.update({ where: { id: userId }, data: { passwordHash: hash } });
        if (pauseAfter === "sessions") await endUserSessions(userId, tx);
        paused();
        await gate;
        if (pauseAfter === "user") await endUserSessions(userId, tx);
      },
      { timeout: 20_000 },
    );
    return { reached, release, done };
  }

  it("the reset's password written, its sessions not yet ended: the link is written, then spent by the reset", async () => {
    const user = await newUser();
    const reset = openReset(user.id, await hashPassword(RESET), "user");
    await reset.reached;
    // The change's guard takes its session's row, which the reset has not touched yet, and reads the password the reset has not committed.
    const res = await changeEmail(user.intruder);
    expect(res.status).toBe(200);
    reset.release();
    await reset.done;
    expect(await pendingEmailOf(user.id)).toBeNull();
    expect(await db().accountToken.count({ where: { userId: user.id, usedAt: null } })).toBe(0);
  });

  it("the reset's sessions ended, not yet committed: the change waits for it, then finds its session ended (401)", async () => {
    const user = await newUser();
    const reset = openReset(user.id, await hashPassword(RESET), "sessions");
    await reset.reached;
    const change = changeEmail(user.intruder);
    // The change's verification and guard take more than this; its guard then waits on the session's row.
    await new Promise((resolve) => setTimeout(resolve, 300));
    reset.release();
    await reset.done;
    const res = await change;
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(INVALID_TOKEN);
    expect(await pendingEmailOf(user.id)).toBeNull();
  });
});

// A reset takes its link's row first (spends it), then the user's; a user's own change takes the
// user's row first, then spends the user's links: at the same instant each can wait for a row the
// other holds. PostgreSQL then ends one of them (the one that began waiting first); ended so, it
// changed nothing and is run again, deciding anew on what the other committed.
describe.runIf(settings().databaseFile === undefined)("on PostgreSQL, a password change ended to break a deadlock", () => {
  it("is run again, and lands once the other transaction has committed", async () => {
    const user = await newUser();
    const link = await db().accountToken.create({
      data: {
        tokenHash: randomUUID(),
        purpose: "password_reset",
        workspaceId: (await db().workspace.findFirstOrThrow()).id,
        userId: user.id,
        expiresAt: new Date(Date.now() + 60_000),
      },
    });
    const newHash = await hashPassword("the owner's own new passphrase");
    const { client: other, pid } = await connection();
    try {
      await other.query("BEGIN");
      // The other one waits 10 s before it looks for a deadlock: the change is the one ended.
      await other.query("SET LOCAL deadlock_timeout = '10s'");
      await other.query(`UPDATE "AccountToken" SET "usedAt" = NULL WHERE "tokenHash" = $1`, [link.tokenHash]);
      const changing = changePasswordInStore(user.id, newHash, { sessionId: sid(user.owner), whilePassword: user.passwordHash });
      changing.catch(() => undefined);
      // The change holds the user's row and waits for the link's.
      await someoneWaitsFor(pid);
      await other.query(`UPDATE "User" SET "name" = 'taken meanwhile' WHERE "id" = $1`, [user.id]);
      await other.query("COMMIT");
      await changing;
      expect(await db().user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ passwordHash: newHash, name: "taken meanwhile" });
      expect(await db().accountToken.findUniqueOrThrow({ where: { tokenHash: link.tokenHash } })).toMatchObject({ usedAt: expect.any(Date) });
    } finally {
      await other.end();
    }
  }, 30_000);
});
