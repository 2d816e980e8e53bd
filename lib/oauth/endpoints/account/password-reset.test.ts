import { afterEach, describe, expect, it, vi } from "vitest";
import { captureRequestLogs } from "@/lib/testing/logs.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { accountTokenHash, findAccountToken, issueAccountToken } from "@/lib/oauth/store/account-tokens.ts";
import { RESET_REQUESTED } from "@/lib/oauth/endpoints/account/password-reset.ts";
import { addClient, basic, call, expectNoStore, getDiscovery, introspect, ISSUER, postToken, signIn, SPA, type Call } from "@/lib/testing/oauth.ts";
import { DAVE } from "@/lib/testing/mfa.ts";
import { addUser } from "@/lib/admin/users.ts";
import { smtpServerForTheseTests } from "@/lib/testing/smtp.ts";
import { expectSameTiming, timed } from "@/lib/testing/timing.ts";

const WEB = { Authorization: basic("demo-web", "demo-web-secret") };
const RESET_URL = `${ISSUER}/account/password-reset`;
const COMPLETE_URL = `${ISSUER}/account/password-reset/complete`;
const LINK = /^http:\/\/localhost:3000\/reset-password\?token=([A-Za-z0-9_-]{43})$/m;

// Before the SMTP server's settings: what the tests that change isProduction put back.
const original = { isProduction: settings().isProduction };
const smtp = smtpServerForTheseTests("Demo Login <no-reply@example.com>");
afterEach(() => backgroundSettled());

/** A reset request, answered, with whatever it started after the answer finished too. */
async function requestReset(body: Call["body"], headers: Record<string, string> = WEB): Promise<Response> {
  const res = await call(routes.passwordReset, RESET_URL, { body, headers });
  await backgroundSettled();
  return res;
}

const complete = (body: Call["body"], headers: Record<string, string> = WEB) => call(routes.passwordResetComplete, COMPLETE_URL, { body, headers });

/** The token of the reset link in the next mail, which must be to `to`. */
async function linkTokenMailedTo(to: string): Promise<string> {
  const mail = await smtp.nextMailAbout("Reset your password");
  expect(mail.rcptTo).toEqual([to]);
  const token = LINK.exec(mail.text)?.[1];
  expect(token, mail.text).toBeDefined();
  return token ?? "";
}

async function resetLink(username: string, email: string): Promise<string> {
  expect((await requestReset({ username })).status).toBe(202);
  return linkTokenMailedTo(email);
}

const userRow = (username: string) => db().user.findFirstOrThrow({ where: { username } });

/** A pending change of `user`'s address to `email`: the token its confirmation link carries. */
const addressChange = (user: { id: string; workspaceId: string }, email: string) =>
  issueAccountToken({ purpose: "email_verification", workspaceId: user.workspaceId, userId: user.id, email, ttlSeconds: 3600, limit: 3 });

describe("POST /account/password-reset", () => {
  it("mails alice a single-use link to demo-web's reset page, valid 30 minutes, kept only as a hash: 202", async () => {
    const before = Date.now();
    const res = await requestReset({ username: "alice" });
    expect(res.status).toBe(202);
    expectNoStore(res);
    expect(await res.json()).toEqual(RESET_REQUESTED);
    const mail = await smtp.nextMailAbout("Reset your password");
    expect(mail.rcptTo).toEqual(["alice@example.com"]);
    expect(mail.from).toBe('"Demo Login" <no-reply@example.com>');
    expect(mail.subject).toBe("Reset your password for Default workspace");
    const token = LINK.exec(mail.text)?.[1] ?? "";
    expect(mail.text).toContain("The link works once, for 30 minutes.");
    expect(mail.html).toContain(`<a href="http://localhost:3000/reset-password?token=${token}">`);
    const rows = await db().accountToken.findMany({ where: { userId: (await userRow("alice")).id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tokenHash: accountTokenHash(token), purpose: "password_reset", clientId: "demo-web", usedAt: null });
    expect(JSON.stringify(rows)).not.toContain(token);
    const ttl = rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime();
    expect(ttl).toBe(1800_000);
    expect(rows[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  it("finds the account by its email address too (JSON body)", async () => {
    const res = await call(routes.passwordReset, RESET_URL, {
      method: "POST",
      body: JSON.stringify({ email: "bob@example.com" }),
      headers: { ...WEB, "Content-Type": "application/json" },
    });
    await backgroundSettled();
    expect(res.status).toBe(202);
    expect(await linkTokenMailedTo("bob@example.com")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("finds the address whatever the case of its letters, and mails the address as it is stored", async () => {
    expect((await requestReset({ email: "Bob@Example.COM" })).status).toBe(202);
    expect(await linkTokenMailedTo("bob@example.com")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const before = smtp.received.length;
    for (const near of ["bob@example.co", "bob@examplE.com.", "böb@example.com"]) expect((await requestReset({ email: near })).status).toBe(202);
    expect(smtp.received.length).toBe(before);
  });

  it("finds a username written like an address by email too: a form asking for username or email cannot tell", async () => {
    const user = await db().user.create({
      data: { workspaceId: (await userRow("bob")).workspaceId, username: "frank@team", passwordHash: "x", email: "frank@example.com" },
    });
    try {
      expect((await requestReset({ email: "frank@team" })).status).toBe(202);
      expect(await linkTokenMailedTo("frank@example.com")).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const before = smtp.received.length;
      expect((await requestReset({ email: "Frank@team" })).status).toBe(202);
      expect(smtp.received.length).toBe(before);
    } finally {
      await db().user.delete({ where: { id: user.id } });
    }
  });

  it("compares letters other than A–Z exactly, the same on both databases", async () => {
    const user = await db().user.create({
      data: { workspaceId: (await userRow("bob")).workspaceId, username: "zoe-reset", passwordHash: "x", email: "Zoë@example.com" },
    });
    try {
      const before = smtp.received.length;
      expect((await requestReset({ email: "ZOË@example.com" })).status).toBe(202);
      expect(smtp.received.length).toBe(before);
      expect((await requestReset({ email: "zoë@EXAMPLE.com" })).status).toBe(202);
      expect(await linkTokenMailedTo("Zoë@example.com")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    } finally {
      await db().user.delete({ where: { id: user.id } });
    }
  });

  it.each([
    ["an unknown username", { username: "nobody" }],
    ["an unknown address", { email: "nobody@example.com" }],
    ["a disabled user", { username: "carol" }],
  ])("answers %s the same 202, and mails nothing", async (_, body) => {
    const before = smtp.received.length;
    const res = await requestReset(body);
    expect(res.status).toBe(202);
    expectNoStore(res);
    expect(await res.json()).toEqual(RESET_REQUESTED);
    expect(smtp.received.length).toBe(before);
  });

  it("mails every account at an address its link though the mail server refuses one of them", async () => {
    const workspace = "demo/default";
    for (const username of ["shared-first", "shared-second"])
      await addUser({ workspace, username, password: "shared address passphrase 1", email: "shared@example.com" });
    try {
      const lines = captureRequestLogs();
      smtp.refuseNext(1);
      expect((await requestReset({ email: "shared@example.com" })).status).toBe(202);
      const mail = await smtp.nextMailAbout("Reset your password");
      expect(mail.rcptTo).toEqual(["shared@example.com"]);
      expect(LINK.test(mail.text)).toBe(true);
      const logged = lines();
      const refused = logged.filter((line) => line.event === "account.password_reset.mail_failed");
      expect(refused).toEqual([expect.objectContaining({ level: 50, userId: expect.any(String), clientId: "demo-web", err: expect.stringContaining("451") })]);
      expect(logged.filter((line) => line.event === "account.password_reset.mailed")).toHaveLength(1);
      // Both links were made; the refused one's user can ask again.
      const users = await db().user.findMany({ where: { email: "shared@example.com" }, select: { id: true } });
      expect(await db().accountToken.count({ where: { userId: { in: users.map((u) => u.id) }, purpose: "password_reset" } })).toBe(2);
    } finally {
      vi.restoreAllMocks();
      await db().user.deleteMany({ where: { username: { in: ["shared-first", "shared-second"] } } });
    }
  });

  it("takes as long for an unknown user as for a known one (medians of 30 within 25%)", async () => {
    // The lookup, the token and the mail happen after the answer: what is timed is the answer.
    // After each pair its background work is let finish, so that one request's lookup and mail
    // never land inside the next one's timing.
    const time = async (username: string) => {
      const ms = await timed(async () => expect((await call(routes.passwordReset, RESET_URL, { body: { username }, headers: WEB })).status).toBe(202));
      await backgroundSettled();
      return ms;
    };
    try {
      // dave's mails: never more than 3 an hour, so most of his requests do the whole work but the mail.
      await expectSameTiming(
        () => time("dave"),
        (i) => time(`nobody-${i}`),
        backgroundSettled,
      );
    } finally {
      // Drain what this test mailed dave and forget his links, pass or fail, so that later tests
      // read their own mails within the hourly limit.
      await backgroundSettled();
      await smtp.drain();
      await db().accountToken.deleteMany({ where: { userId: (await userRow("dave")).id } });
    }
  });

  it("mails one user at most 3 links an hour, counted in the database; older ones do not count", async () => {
    const bob = await userRow("bob");
    await db().accountToken.deleteMany({ where: { userId: bob.id } });
    await smtp.drain();
    // Three from more than an hour ago (another instance, say) are out of the window.
    const old = new Date(Date.now() - 3_700_000);
    await db().accountToken.createMany({
      data: [1, 2, 3].map((n) => ({
        tokenHash: `old-${n}`,
        purpose: "password_reset",
        workspaceId: bob.workspaceId,
        userId: bob.id,
        createdAt: old,
        expiresAt: old,
      })),
    });
    const before = smtp.received.length;
    for (let i = 0; i < 4; i++) expect((await requestReset({ username: "bob" })).status).toBe(202);
    expect(smtp.received.slice(before).map((m) => m.rcptTo[0])).toEqual(["bob@example.com", "bob@example.com", "bob@example.com"]);
    await smtp.drain();
    // The fourth left no token behind.
    expect(await db().accountToken.count({ where: { userId: bob.id, createdAt: { gt: old } } })).toBe(3);
  });

  it.each<[string, Call["body"], string]>([
    ["neither username nor email", {}, "send username or email, one of them"],
    ["both", { username: "alice", email: "alice@example.com" }, "send username or email, one of them"],
    ["a name too long", { username: "a".repeat(256) }, "username is too long"],
  ])("refuses %s: 400 invalid_request", async (_, body, description) => {
    const res = await requestReset(body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: description });
  });

  it("needs a confidential client with a reset page: 401 without authentication, 403 for others", async () => {
    const anonymous = await requestReset({ username: "alice" }, {});
    expect(anonymous.status).toBe(401);
    expect((await anonymous.json()).error).toBe("invalid_client");
    const wrong = await requestReset({ username: "alice" }, { Authorization: basic("demo-web", "wrong") });
    expect(wrong.status).toBe(401);
    for (const [body, headers] of [
      [{ ...SPA, username: "alice" }, {}],
      [{ username: "alice" }, { Authorization: basic("demo-backend", "demo-backend-secret") }],
    ] as const) {
      const res = await requestReset(body, headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: "unauthorized_client", error_description: "this client does not offer password recovery" });
    }
  });

  it("in production, mails no link to a reset page that is not https (an operator's CLI without NODE_ENV took it): 403", async () => {
    const issued = async () => db().accountToken.count({ where: { userId: (await userRow("alice")).id, purpose: "password_reset" } });
    const before = await issued();
    await db().client.updateMany({ where: { clientId: "demo-web" }, data: { passwordResetUri: "http://login.example/reset-password" } });
    clearCaches();
    Object.assign(settings(), { isProduction: true });
    try {
      const res = await requestReset({ username: "alice" });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: "unauthorized_client", error_description: "this client does not offer password recovery" });
      expect(await issued()).toBe(before);
      // Nor to a page stored as something else than a URL (the CLI would not store one).
      await db().client.updateMany({ where: { clientId: "demo-web" }, data: { passwordResetUri: "not a url" } });
      clearCaches();
      expect((await requestReset({ username: "alice" })).status).toBe(403);
      expect(await issued()).toBe(before);
      // On this machine it may be http, as APP_URL may (the login app's own page in the tests).
      await db().client.updateMany({ where: { clientId: "demo-web" }, data: { passwordResetUri: "http://localhost:3000/reset-password" } });
      clearCaches();
      expect((await requestReset({ username: "alice" })).status).toBe(202);
      await linkTokenMailedTo("alice@example.com");
    } finally {
      Object.assign(settings(), { isProduction: original.isProduction });
      clearCaches();
    }
  });

  it("is off in production without SMTP_URL: 404, and discovery does not list it", async () => {
    const listed = (await (await getDiscovery()).json()) as Record<string, unknown>;
    expect(listed.password_reset_endpoint).toBe(RESET_URL);
    expect(listed.password_reset_complete_endpoint).toBe(COMPLETE_URL);
    Object.assign(settings(), { SMTP_URL: undefined, isProduction: true });
    try {
      const res = await requestReset({ username: "alice" });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: "not_found", error_description: "password recovery is not offered by this server" });
      expect((await complete({ token: "x", new_password: "a-new-long-password" })).status).toBe(404);
      const metadata = (await (await getDiscovery()).json()) as Record<string, unknown>;
      expect(metadata.password_reset_endpoint).toBeUndefined();
      expect(metadata.password_reset_complete_endpoint).toBeUndefined();
    } finally {
      Object.assign(settings(), { SMTP_URL: smtp.url, isProduction: original.isProduction });
    }
  });
});

describe("POST /account/password-reset/complete", () => {
  it("sets the password, spends the token, ends every session and forgets the failed sign-ins: 204", async () => {
    const alice = await userRow("alice");
    const session = await signIn();
    const other = await signIn({ ...SPA, username: "alice", password: "alice-password-1", scope: "openid offline_access" });
    await db().failedLogin.createMany({
      data: [
        { workspaceId: alice.workspaceId, username: "alice", ip: "192.0.2.7" },
        { workspaceId: alice.workspaceId, username: "alice", ip: "192.0.2.8" },
        { workspaceId: alice.workspaceId, username: "bob", ip: "192.0.2.7" },
      ],
    });
    const token = await resetLink("alice", "alice@example.com");
    const res = await complete({ token, new_password: "correct horse battery staple" });
    expect(res.status).toBe(204);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("");
    // Every session has ended: its refresh tokens and access tokens are refused.
    expect(await introspect(session.access_token)).toEqual({ active: false });
    expect(await introspect(other.refresh_token)).toEqual({ active: false });
    const refresh = await postToken({ grant_type: "refresh_token", ...SPA, refresh_token: session.refresh_token });
    expect((await refresh.json()).error).toBe("invalid_grant");
    // alice's failures are forgotten, bob's are not.
    expect(await db().failedLogin.count({ where: { username: "alice" } })).toBe(0);
    expect(await db().failedLogin.count({ where: { username: "bob" } })).toBe(1);
    // The new password signs in; the old one does not.
    expect((await postToken({ grant_type: "password", ...SPA, username: "alice", password: "correct horse battery staple" })).status).toBe(200);
    expect((await postToken({ grant_type: "password", ...SPA, username: "alice", password: "alice-password-1" })).status).toBe(400);
    // Spent: the link works once.
    const again = await complete({ token, new_password: "another fine passphrase" });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: "invalid_reset_token", error_description: "the reset link has been used already" });
    // The audit trail has the event, never the token.
    await flushAudit();
    const events = await db().auditEvent.findMany({ where: { event: { startsWith: "account.password_reset" } } });
    expect(events.map((e) => e.event)).toContain("account.password_reset.complete");
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it("still asks dave for his second factor at the next sign-in", async () => {
    const token = await resetLink("dave", "dave@example.com");
    expect((await complete({ token, new_password: "a brand new passphrase" })).status).toBe(204);
    const res = await postToken({ grant_type: "password", ...SPA, username: DAVE.username, password: "a brand new passphrase" });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toBe("mfa_required");
    expect(await db().mfaFactor.count({ where: { userId: (await userRow("dave")).id, confirmedAt: { not: null } } })).toBe(1);
  });

  it("spends the user's other links with the one used, a pending change of address's too", async () => {
    const bob = await userRow("bob");
    await db().accountToken.deleteMany({ where: { userId: bob.id } });
    const first = await resetLink("bob", "bob@example.com");
    const second = await resetLink("bob", "bob@example.com");
    const pending = await addressChange(bob, "mallory@evil.example");
    expect((await complete({ token: second, new_password: "bobs new passphrase" })).status).toBe(204);
    const res = await complete({ token: first, new_password: "bobs other passphrase" });
    expect(await res.json()).toEqual({ error: "invalid_reset_token", error_description: "the reset link has been used already" });
    expect(await findAccountToken(pending ?? "", "email_verification", bob.workspaceId)).toEqual({ problem: "used" });
  });

  it("spends the reset links mailed to the old address once a new one is confirmed: the old mailbox may be no longer the user's", async () => {
    await addUser({ workspace: "demo/default", username: "moving-user", password: "moving user passphrase 1", email: "moving@old.example" });
    const user = await userRow("moving-user");
    const reset = await resetLink("moving-user", "moving@old.example");
    const change = await addressChange(user, "moving@new.example");
    const confirmed = await call(routes.accountEmailVerify, `${ISSUER}/account/email/verify`, { body: { token: change ?? "" } });
    expect(confirmed.status).toBe(204);
    expect((await userRow("moving-user")).email).toBe("moving@new.example");
    const res = await complete({ token: reset, new_password: "taken over passphrase" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_reset_token", error_description: "the reset link has been used already" });
    expect((await userRow("moving-user")).passwordHash).toBe(user.passwordHash);
  });

  it("refuses a link mailed to an address the account no longer has, though nothing spent it (a change confirmed as the link was made)", async () => {
    await addUser({ workspace: "demo/default", username: "racing-user", password: "racing user passphrase 1", email: "racing@old.example" });
    const user = await userRow("racing-user");
    const reset = await resetLink("racing-user", "racing@old.example");
    // The change committed between the reset's read of the address and its link's row: the
    // confirmation spent the links there were, not this one.
    await db().user.update({ where: { id: user.id }, data: { email: "racing@new.example", emailVerified: true } });
    const res = await complete({ token: reset, new_password: "taken over passphrase" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_reset_token", error_description: "the reset link is not valid" });
    expect((await userRow("racing-user")).passwordHash).toBe(user.passwordHash);
    // A link to the address the account has now works, the case of its letters corrected since (one mailbox).
    const again = await resetLink("racing-user", "racing@new.example");
    await db().user.update({ where: { id: user.id }, data: { email: "Racing@New.example" } });
    expect((await complete({ token: again, new_password: "racing user passphrase 2" })).status).toBe(204);
  });

  it("refuses an expired, unknown or another client's token: 400 invalid_reset_token", async () => {
    const bob = await userRow("bob");
    await db().accountToken.deleteMany({ where: { userId: bob.id } });
    const token = await resetLink("bob", "bob@example.com");
    await db().accountToken.update({ where: { tokenHash: accountTokenHash(token) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await complete({ token, new_password: "bobs new passphrase" });
    expect(expired.status).toBe(400);
    expectNoStore(expired);
    expect(await expired.json()).toEqual({ error: "invalid_reset_token", error_description: "the reset link has expired; ask for a new one" });

    const unknown = await complete({ token: "A".repeat(43), new_password: "bobs new passphrase" });
    expect(await unknown.json()).toEqual({ error: "invalid_reset_token", error_description: "the reset link is not valid" });

    await addClient("other-web", { secret: "other-web-secret-123", passwordResetUri: "https://other.example/reset" });
    const live = await resetLink("bob", "bob@example.com");
    const foreign = await complete({ token: live, new_password: "bobs new passphrase" }, { Authorization: basic("other-web", "other-web-secret-123") });
    expect(foreign.status).toBe(400);
    expect(await foreign.json()).toEqual({ error: "invalid_reset_token", error_description: "the reset link is not valid" });
    // Still good for its own client.
    expect((await complete({ token: live, new_password: "bobs new passphrase" })).status).toBe(204);
  });

  it("applies the password policy, naming the rule, and leaves the token unspent", async () => {
    const bob = await userRow("bob");
    await db().accountToken.deleteMany({ where: { userId: bob.id } });
    const token = await resetLink("bob", "bob@example.com");
    for (const [password, rule] of [
      ["short", "too_short"],
      ["password123", "common"],
      ["bob.secret", "contains_username"],
      ["x".repeat(1025), "too_long"],
    ] as const) {
      const res = await complete({ token, new_password: password });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Record<string, string>;
      expect(body).toMatchObject({ error: "invalid_request", password_rule: rule });
      expect(body.error_description).toMatch(/^the password /);
    }
    expect((await complete({ token, new_password: "a sound new passphrase" })).status).toBe(204);
  });

  it("needs the client's authentication, the token and the new password", async () => {
    expect((await complete({ token: "x", new_password: "a sound new passphrase" }, {})).status).toBe(401);
    for (const [body, description] of [
      [{ new_password: "a sound new passphrase" }, "token is required"],
      [{ token: "x" }, "new_password is required"],
      [{ token: "x".repeat(129), new_password: "a sound new passphrase" }, "token is too long"],
    ] as const) {
      const res = await complete(body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "invalid_request", error_description: description });
    }
  });

  it("lets exactly one of two requests with the same token through", async () => {
    const bob = await userRow("bob");
    await db().accountToken.deleteMany({ where: { userId: bob.id } });
    const token = await resetLink("bob", "bob@example.com");
    const answers = await Promise.all([complete({ token, new_password: "first new passphrase" }), complete({ token, new_password: "second new passphrase" })]);
    expect(answers.map((r) => r.status).sort()).toEqual([204, 400]);
  });
});
