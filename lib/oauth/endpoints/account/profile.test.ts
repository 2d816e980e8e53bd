import { decodeJwt } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { accountTokenHash } from "@/lib/oauth/store/account-tokens.ts";
import { hashPassword, passwordVerifier } from "@/lib/platform/passwords.ts";
import { basic, call, expectNoStore, ISSUER, postToken, signIn, type Call } from "@/lib/testing/oauth.ts";
import { smtpServerForTheseTests } from "@/lib/testing/smtp.ts";

const WEB = { Authorization: basic("demo-web", "demo-web-secret") };
const PROFILE_URL = `${ISSUER}/account/profile`;
const VERIFY_URL = `${ISSUER}/account/email/verify`;
// The link names the account's workspace, so that the login app confirms for any workspace of this server.
const LINK = /^http:\/\/localhost:3000\/verify-email\?token=([A-Za-z0-9_-]{43})&tenant=demo&workspace=default$/m;

const smtp = smtpServerForTheseTests("no-reply@example.com");
// The notices a test's changes mail go out after its answers: all in before the next test counts mails.
afterEach(() => backgroundSettled());

/** An access token of `username` through demo-web, with the account scope (or the scope given). */
async function accessToken(username = "alice", scope = "openid account"): Promise<string> {
  const tokens = await signIn({ username, password: `${username}-password-1`, scope }, WEB);
  return tokens.access_token;
}

const getProfile = (token: string) => call(routes.accountProfile, PROFILE_URL, { headers: { Authorization: `Bearer ${token}` } });

function patchProfile(token: string, body: unknown): Promise<Response> {
  const c: Call = {
    method: "PATCH",
    body: typeof body === "string" ? body : JSON.stringify(body),
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  };
  return call(routes.accountProfile, PROFILE_URL, c);
}

const verify = (token: string) => call(routes.accountEmailVerify, VERIFY_URL, { body: { token } });
const BOB_PASSWORD = "bob-password-1";

describe("GET /account/profile", () => {
  it("answers the caller's profile", async () => {
    const alice = await db().user.findFirstOrThrow({ where: { username: "alice" } });
    const res = await getProfile(await accessToken());
    expect(res.status).toBe(200);
    expectNoStore(res);
    expect(await res.json()).toEqual({ sub: alice.id, username: "alice", name: "Alice Example", email: "alice@example.com", email_verified: true });
  });

  it("needs a token (401) with the account scope (403)", async () => {
    const none = await call(routes.accountProfile, PROFILE_URL);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
    const narrow = await getProfile(await accessToken("alice", "openid"));
    expect(narrow.status).toBe(403);
    expect((await narrow.json()).error).toBe("insufficient_scope");
    const junk = await getProfile("not-a-token");
    expect(junk.status).toBe(401);
  });
});

describe("PATCH /account/profile", () => {
  it("changes the name at once, and removes it with null", async () => {
    const token = await accessToken("bob");
    const res = await patchProfile(token, { name: "  Robert Example " });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ username: "bob", name: "Robert Example", email: "bob@example.com", email_verified: true });
    expect((await db().user.findFirstOrThrow({ where: { username: "bob" } })).name).toBe("Robert Example");
    expect(await (await patchProfile(token, { name: null })).json()).toMatchObject({ name: null });
  });

  it.each<[string, unknown, string]>([
    ["nothing to change", {}, "send name, email or both"],
    ["another member", { email_verified: true }, "only name and email can be changed, not email_verified"],
    ["a name that is not a string", { name: 42 }, "name must be a string"],
    ["a name too long", { name: "n".repeat(201) }, "name must have at most 200 characters"],
    ["a name with a line break", { name: "Bob\nBcc: x" }, "name must not contain control characters"],
    ["an email that is not an address", { email: "bob at example" }, "email must be an email address, like name@example.com"],
    ["an email with a line break", { email: "bob@example.com\r\nBcc: x@example.com" }, "email must be an email address, like name@example.com"],
    ["an email too long", { email: `${"b".repeat(250)}@example.com` }, "email must have at most 254 characters"],
    ["a body that is not JSON", "name=Bob", "the request body is not valid JSON"],
    ["a new email without the current password", { email: "bob.other@example.com" }, "current_password is required to change the email address"],
    ["a current password that is not a string", { email: "bob.other@example.com", current_password: 1 }, "current_password must be a string"],
  ])("refuses %s: 400 invalid_request", async (_, body, description) => {
    const res = await patchProfile(await accessToken("bob"), body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: description });
  });

  it("keeps the old address until the new one is confirmed through the link mailed to it", async () => {
    const token = await accessToken("alice");
    const res = await patchProfile(token, { email: "alice.new@example.com", current_password: "alice-password-1" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email: "alice@example.com", email_verified: true, pending_email: "alice.new@example.com" });
    const mail = await smtp.nextMailAbout("Confirm your email address");
    expect(mail.rcptTo).toEqual(["alice.new@example.com"]);
    expect(mail.subject).toBe("Confirm your email address for Default workspace");
    const link = LINK.exec(mail.text)?.[1] ?? "";
    expect(link).not.toBe("");
    const row = await db().accountToken.findUniqueOrThrow({ where: { tokenHash: accountTokenHash(link) } });
    expect(row).toMatchObject({ purpose: "email_verification", email: "alice.new@example.com", usedAt: null });
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(86_400_000);
    // Still the old address, at userinfo as here.
    expect((await db().user.findFirstOrThrow({ where: { username: "alice" } })).email).toBe("alice@example.com");

    const confirmed = await verify(link);
    expect(confirmed.status).toBe(204);
    expect(await (await getProfile(token)).json()).toEqual(expect.objectContaining({ email: "alice.new@example.com", email_verified: true }));
    expect(await (await getProfile(token)).json()).not.toHaveProperty("pending_email");

    const again = await verify(link);
    expect(again.status).toBe(400);
    expectNoStore(again);
    expect(await again.json()).toEqual({ error: "invalid_verification_token", error_description: "the confirmation link has been used already" });
  });

  it("answers invalid_token, not a 500, when the user is deleted while their change runs", async () => {
    const { id: workspaceId } = await db().workspace.findFirstOrThrow({ where: { slug: "default" } });
    const user = await db().user.create({ data: { workspaceId, username: `leaving-${Date.now()}`, passwordHash: await hashPassword(BOB_PASSWORD) } });
    const token = (await signIn({ username: user.username, password: BOB_PASSWORD, scope: "openid account" }, WEB)).access_token;
    // Deleted after the request found them, while their password is verified: the name then has no user to go to.
    const verify = passwordVerifier.verify.bind(passwordVerifier);
    const spy = vi.spyOn(passwordVerifier, "verify").mockImplementation(async (hash, password) => {
      await db().user.deleteMany({ where: { id: user.id } });
      return verify(hash, password);
    });
    try {
      const res = await patchProfile(token, { name: "Leaving", email: "leaving@example.com", current_password: BOB_PASSWORD });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "invalid_token", error_description: "the access token is invalid" });
    } finally {
      spy.mockRestore();
    }
  });

  it("refuses a new email with a wrong current password: 403 invalid_grant, counted, nothing mailed", async () => {
    const before = smtp.received.length;
    const bob = await db().user.findFirstOrThrow({ where: { username: "bob" } });
    const failures = await db().failedLogin.count({ where: { username: "bob" } });
    const res = await patchProfile(await accessToken("bob"), { email: "mallory@evil.example", current_password: "not-bobs-password" });
    expect(res.status).toBe(403);
    expectNoStore(res);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the current password is wrong" });
    expect(await db().failedLogin.count({ where: { username: "bob" } })).toBe(failures + 1);
    expect(await db().accountToken.count({ where: { userId: bob.id, email: "mallory@evil.example" } })).toBe(0);
    expect(smtp.received.length).toBe(before);
  });

  let n = 0;
  /** A user of this test alone, with an address: `${username}-password-1`, like the demo users. */
  async function newUser(): Promise<string> {
    const username = `pending-${++n}`;
    const workspace = await db().workspace.findFirstOrThrow({ where: { slug: "default", tenant: { slug: "demo" } } });
    const passwordHash = await hashPassword(`${username}-password-1`);
    await db().user.create({ data: { workspaceId: workspace.id, username, passwordHash, email: `${username}@example.com`, emailVerified: true } });
    return username;
  }

  it.each<[string, (token: string, username: string) => Promise<Response>]>([
    ["the current address saved again", (token, username) => patchProfile(token, { email: `${username}@example.com` })],
    [
      "a new password",
      (token, username) =>
        call(routes.accountPassword, `${ISSUER}/account/password`, {
          headers: { Authorization: `Bearer ${token}` },
          body: { current_password: `${username}-password-1`, new_password: "a brand new passphrase" },
        }),
    ],
    [
      "signing out every other session",
      (token) => call(routes.accountSessions, `${ISSUER}/account/sessions`, { method: "DELETE", headers: { Authorization: `Bearer ${token}` } }),
    ],
  ])("cancels a pending address change: %s spends its link", async (_name, cancel) => {
    const username = await newUser();
    const token = await accessToken(username);
    expect((await patchProfile(token, { email: `${username}.new@example.com`, current_password: `${username}-password-1` })).status).toBe(200);
    const link = LINK.exec((await smtp.nextMailAbout("Confirm your email address")).text)?.[1] ?? "";
    expect(await (await getProfile(token)).json()).toMatchObject({ pending_email: `${username}.new@example.com` });
    expect([200, 204]).toContain((await cancel(token, username)).status);
    expect(await (await getProfile(token)).json()).not.toHaveProperty("pending_email");
    expect(await (await verify(link)).json()).toEqual({
      error: "invalid_verification_token",
      error_description: "the confirmation link has been used already",
    });
    expect((await db().user.findFirstOrThrow({ where: { username } })).email).toBe(`${username}@example.com`);
  });

  it("cancels a pending address change when the owner ends, from another session, the session that asked for it", async () => {
    const username = await newUser();
    // Whoever got one sign-in asks for their own address; the owner, signed in elsewhere, ends that session.
    const theirs = await accessToken(username);
    const owners = await accessToken(username);
    expect((await patchProfile(theirs, { email: "mallory@evil.example", current_password: `${username}-password-1` })).status).toBe(200);
    const link = LINK.exec((await smtp.nextMailAbout("Confirm your email address")).text)?.[1] ?? "";
    const sid = String(decodeJwt(theirs).sid);
    const ended = await call(routes.accountSession, `${ISSUER}/account/sessions/${sid}`, {
      method: "DELETE",
      headers: { Authorization: `Bearer ${owners}` },
      params: { id: sid },
    });
    expect(ended.status).toBe(204);
    expect(await (await getProfile(owners)).json()).not.toHaveProperty("pending_email");
    expect(await (await verify(link)).json()).toEqual({
      error: "invalid_verification_token",
      error_description: "the confirmation link has been used already",
    });
    expect((await db().user.findFirstOrThrow({ where: { username } })).email).toBe(`${username}@example.com`);
  });

  it("cancels a pending address change when a refresh token of the session that asked for it is used twice (theft)", async () => {
    const username = await newUser();
    const tokens = await signIn({ username, password: `${username}-password-1`, scope: "openid account offline_access" }, WEB);
    expect((await patchProfile(tokens.access_token, { email: "mallory@evil.example", current_password: `${username}-password-1` })).status).toBe(200);
    const link = LINK.exec((await smtp.nextMailAbout("Confirm your email address")).text)?.[1] ?? "";
    const refresh = () => postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }, WEB);
    expect((await refresh()).status).toBe(200);
    expect((await refresh()).status).toBe(400);
    const res = await verify(link);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid_verification_token",
      error_description: "the confirmation link has been used already",
    });
    expect((await db().user.findFirstOrThrow({ where: { username } })).email).toBe(`${username}@example.com`);
  });

  it("answers 503 temporarily_unavailable when the mail server refuses the mail, and leaves only the earlier request pending", async () => {
    const username = await newUser();
    const token = await accessToken(username);
    const proof = { current_password: `${username}-password-1` };
    expect((await patchProfile(token, { email: `${username}.first@example.com`, ...proof })).status).toBe(200);
    const first = LINK.exec((await smtp.nextMailAbout("Confirm your email address")).text)?.[1] ?? "";
    // The same SMTP server, which now refuses our login.
    const url = new URL(smtp.url);
    url.password = "not-the-password";
    Object.assign(settings(), { SMTP_URL: url.toString() });
    let res: Response;
    try {
      res = await patchProfile(token, { email: `${username}.second@example.com`, ...proof });
    } finally {
      Object.assign(settings(), { SMTP_URL: smtp.url });
    }
    expect(res.status).toBe(503);
    expectNoStore(res);
    expect(await res.json()).toEqual({ error: "temporarily_unavailable", error_description: "the confirmation mail could not be sent; try again later" });
    // No link went out for the second address: it is not pending, the first still is, and its link works.
    expect(await (await getProfile(token)).json()).toMatchObject({ pending_email: `${username}.first@example.com` });
    expect((await verify(first)).status).toBe(204);
    expect((await db().user.findFirstOrThrow({ where: { username } })).email).toBe(`${username}.first@example.com`);
  });

  it("mails nothing for the same address", async () => {
    const before = smtp.received.length;
    const res = await patchProfile(await accessToken("bob"), { email: "bob@example.com" });
    expect(res.status).toBe(200);
    expect(await res.json()).not.toHaveProperty("pending_email");
    expect(smtp.received.length).toBe(before);
  });

  it("refuses an expired or unknown confirmation token: 400 invalid_verification_token", async () => {
    await patchProfile(await accessToken("bob"), { email: "bob.new@example.com", current_password: BOB_PASSWORD });
    const link = LINK.exec((await smtp.nextMailAbout("Confirm your email address")).text)?.[1] ?? "";
    await db().accountToken.update({ where: { tokenHash: accountTokenHash(link) }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect(await (await verify(link)).json()).toEqual({
      error: "invalid_verification_token",
      error_description: "the confirmation link has expired; change the address again for a new one",
    });
    expect(await (await verify("B".repeat(43))).json()).toEqual({
      error: "invalid_verification_token",
      error_description: "the confirmation link is not valid",
    });
    const missing = await call(routes.accountEmailVerify, VERIFY_URL, { body: {} });
    expect(await missing.json()).toEqual({ error: "invalid_request", error_description: "token is required" });
    expect((await db().user.findFirstOrThrow({ where: { username: "bob" } })).email).toBe("bob@example.com");
  });

  it("mails at most 3 confirmations an hour, counted in the database: then 429, and the request's name is not saved either", async () => {
    const bob = await db().user.findFirstOrThrow({ where: { username: "bob" } });
    await db().accountToken.deleteMany({ where: { userId: bob.id } });
    const bearer = await accessToken("bob");
    for (const n of [1, 2, 3]) expect((await patchProfile(bearer, { email: `bob.${n}@example.com`, current_password: BOB_PASSWORD })).status).toBe(200);
    const res = await patchProfile(bearer, { name: "Bob Renamed", email: "bob.4@example.com", current_password: BOB_PASSWORD });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: "too many address changes this hour; try again later" });
    expect(smtp.received.filter((m) => m.rcptTo[0] === "bob.4@example.com")).toEqual([]);
    // A refused request changes nothing: the client shows its error, and the name as it was.
    expect((await db().user.findUniqueOrThrow({ where: { id: bob.id } })).name).toBe(bob.name);
    await smtp.drain();
  });
});
