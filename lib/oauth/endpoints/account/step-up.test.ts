import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { db } from "@/lib/platform/db.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { pendingEmailOf } from "@/lib/oauth/store/account-tokens.ts";
import { confirmFactor, startEnrolment } from "@/lib/oauth/store/mfa.ts";
import { basic, call, ISSUER, postToken, signIn } from "@/lib/testing/oauth.ts";
import { codeAt, MFA_OTP, mfaTokenFor } from "@/lib/testing/mfa.ts";
import { smtpServerForTheseTests } from "@/lib/testing/smtp.ts";

// A change that could take the account (a new password, a new address) from a session whose
// sign-in did not pass the user's second factor: one from before the user turned two-step
// verification on, here. The password alone must not do it: whoever had it and such a session
// could otherwise move the address and the password past the factor.

const WEB = { Authorization: basic("demo-web", "demo-web-secret") };
const PASSWORD = "alice-password-1";
const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const smtp = smtpServerForTheseTests("no-reply@example.com");

afterEach(() => backgroundSettled());
afterEach(() => vi.restoreAllMocks());

/** A user signed in with the password alone (their session's token), who then turned two-step verification on. */
async function enrolledAfterSignIn() {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  const username = `step-up-${randomUUID().slice(0, 8)}`;
  const user = await db().user.create({ data: { workspaceId, username, passwordHash, email: `${username}@example.com`, emailVerified: true } });
  const token = (await signIn({ username, password: PASSWORD, scope: "openid account" }, WEB)).access_token;
  expect(await confirmFactor(user.id, await startEnrolment(user.id, SECRET, []), new Date())).toBe("confirmed");
  return { id: user.id, username, passwordHash, token };
}

const changePassword = (token: string, extra: Record<string, string> = {}) =>
  call(routes.accountPassword, `${ISSUER}/account/password`, {
    body: { current_password: PASSWORD, new_password: "a brand new passphrase", ...extra },
    headers: { Authorization: `Bearer ${token}` },
  });

const changeEmail = (token: string, extra: Record<string, string> = {}) =>
  call(routes.accountProfile, `${ISSUER}/account/profile`, {
    method: "PATCH",
    body: JSON.stringify({ email: "new-address@example.com", current_password: PASSWORD, ...extra }),
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  });

const STEP_UP = "this session signed in without two-step verification: send a current code (otp) with the password, or sign in with it";
const passwordOf = async (id: string) => (await db().user.findUniqueOrThrow({ where: { id } })).passwordHash;

/** A wrong code: any six digits but the current window's three. */
function wrongCode(): string {
  const valid = new Set([-30_000, 0, 30_000].map((d) => codeAt(SECRET, Date.now() + d)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, "0");
    if (!valid.has(code)) return code;
  }
}

describe("a password change from a session that did not pass the user's second factor", () => {
  it("without a code: 401 insufficient_user_authentication (RFC 9470), before the password is verified", async () => {
    const user = await enrolledAfterSignIn();
    const verify = vi.spyOn(passwordVerifier, "verify");
    const res = await changePassword(user.token);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="${ISSUER}", error="insufficient_user_authentication", error_description="${STEP_UP}"`);
    expect(await res.json()).toEqual({ error: "insufficient_user_authentication", error_description: STEP_UP });
    expect(verify).not.toHaveBeenCalled();
    expect(await passwordOf(user.id)).toBe(user.passwordHash);
  });

  it("with a wrong code: 400 invalid_grant, counted against the factor; with a right one: 204", async () => {
    const user = await enrolledAfterSignIn();
    const wrong = await changePassword(user.token, { otp: wrongCode() });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: "invalid_grant", error_description: "the code is invalid" });
    expect(await db().mfaFactor.findFirstOrThrow({ where: { userId: user.id } })).toMatchObject({ wrongCodes: 1 });
    expect(await passwordOf(user.id)).toBe(user.passwordHash);
    const right = await changePassword(user.token, { otp: codeAt(SECRET) });
    expect(right.status).toBe(204);
    expect(await passwordOf(user.id)).not.toBe(user.passwordHash);
  });

  it("with a right code and a wrong password: 403, the code not spent on it", async () => {
    const user = await enrolledAfterSignIn();
    const res = await changePassword(user.token, { otp: codeAt(SECRET), current_password: "not the password" });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the current password is wrong" });
    expect(await db().mfaFactor.findFirstOrThrow({ where: { userId: user.id } })).toMatchObject({ lastUsedStep: null });
  });
});

describe("an email change from a session that did not pass the user's second factor", () => {
  it("without a code: 401 insufficient_user_authentication, nothing pending; with a right one: pending", async () => {
    const user = await enrolledAfterSignIn();
    const res = await changeEmail(user.token);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "insufficient_user_authentication", error_description: STEP_UP });
    expect(await pendingEmailOf(user.id)).toBeNull();
    await smtp.drain();
    const right = await changeEmail(user.token, { otp: codeAt(SECRET) });
    expect(right.status).toBe(200);
    expect(await pendingEmailOf(user.id)).toBe("new-address@example.com");
    expect((await smtp.nextMailAbout("Confirm")).rcptTo).toEqual(["new-address@example.com"]);
  });

  it("a name alone needs neither", async () => {
    const user = await enrolledAfterSignIn();
    const res = await call(routes.accountProfile, `${ISSUER}/account/profile`, {
      method: "PATCH",
      body: JSON.stringify({ name: "A New Name" }),
      headers: { Authorization: `Bearer ${user.token}`, "Content-Type": "application/json" },
    });
    expect(res.status).toBe(200);
    expect((await res.json()).name).toBe("A New Name");
  });
});

describe("from a session that passed the second factor", () => {
  it("the password alone changes the password and the address", async () => {
    const user = await enrolledAfterSignIn();
    const mfaToken = await mfaTokenFor({ username: user.username, password: PASSWORD, scope: "openid account" }, WEB);
    const signedIn = await postToken({ grant_type: MFA_OTP, mfa_token: mfaToken, otp: codeAt(SECRET) }, WEB);
    expect(signedIn.status).toBe(200);
    const { access_token } = (await signedIn.json()) as { access_token: string };
    expect((await changeEmail(access_token)).status).toBe(200);
    expect((await changePassword(access_token)).status).toBe(204);
  });
});
