import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { accountTokenHash } from "@/lib/oauth/store/account-tokens.ts";
import { basic, call, expectNoStore, ISSUER, signIn, type Call } from "@/lib/testing/oauth.ts";
import { startSmtpServer, type TestSmtpServer } from "@/lib/testing/smtp.ts";

const WEB = { Authorization: basic("demo-web", "demo-web-secret") };
const PROFILE_URL = `${ISSUER}/account/profile`;
const VERIFY_URL = `${ISSUER}/account/email/verify`;
const LINK = /^http:\/\/localhost:3000\/verify-email\?token=([A-Za-z0-9_-]{43})$/m;

let smtp: TestSmtpServer;
const original = { SMTP_URL: settings().SMTP_URL, MAIL_FROM: settings().MAIL_FROM, isProduction: settings().isProduction };

beforeAll(async () => {
  smtp = await startSmtpServer();
  Object.assign(settings(), { SMTP_URL: smtp.url, MAIL_FROM: "no-reply@example.com" });
});
afterAll(async () => {
  Object.assign(settings(), original);
  await smtp.close();
});

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
  ])("refuses %s: 400 invalid_request", async (_, body, description) => {
    const res = await patchProfile(await accessToken("bob"), body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: description });
  });

  it("keeps the old address until the new one is confirmed through the link mailed to it", async () => {
    const token = await accessToken("alice");
    const res = await patchProfile(token, { email: "alice.new@example.com" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email: "alice@example.com", email_verified: true, pending_email: "alice.new@example.com" });
    const mail = await smtp.nextMail();
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

  it("mails nothing for the same address", async () => {
    const before = smtp.received.length;
    const res = await patchProfile(await accessToken("bob"), { email: "bob@example.com" });
    expect(res.status).toBe(200);
    expect(await res.json()).not.toHaveProperty("pending_email");
    expect(smtp.received.length).toBe(before);
  });

  it("refuses an expired or unknown confirmation token: 400 invalid_verification_token", async () => {
    await patchProfile(await accessToken("bob"), { email: "bob.new@example.com" });
    const link = LINK.exec((await smtp.nextMail()).text)?.[1] ?? "";
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

  it("mails at most 3 confirmations an hour, counted in the database: then 429", async () => {
    const bob = await db().user.findFirstOrThrow({ where: { username: "bob" } });
    await db().accountToken.deleteMany({ where: { userId: bob.id } });
    const bearer = await accessToken("bob");
    for (const n of [1, 2, 3]) expect((await patchProfile(bearer, { email: `bob.${n}@example.com` })).status).toBe(200);
    const res = await patchProfile(bearer, { email: "bob.4@example.com" });
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: "too many address changes this hour; try again later" });
    expect(smtp.received.filter((m) => m.rcptTo[0] === "bob.4@example.com")).toEqual([]);
    await smtp.drain();
  });
});
