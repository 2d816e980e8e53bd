import { randomBytes, randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { devMailbox } from "@/lib/platform/mail.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { accountTokenHash } from "@/lib/oauth/store/account-tokens.ts";
import { resetPassword, setUser } from "@/lib/admin/users.ts";
import { resetFactors } from "@/lib/admin/mfa.ts";
import { basic, call, ISSUER, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";
import { codeAt, MFA_OTP, mfaTokenFor } from "@/lib/testing/mfa.ts";
import { whileMailsRefused } from "@/lib/testing/refused-mails.ts";

// A change of an account and the notice that tells its owner of it are written in one
// transaction: both or neither. A change whose notice the database would not keep (here a
// trigger refuses it) is not made, rather than made unannounced: the request fails as the
// database did (500), and everything stays as it was.

const WEB = { Authorization: basic("demo-web", "demo-web-secret") };
const PASSWORD = "alice-password-1";
const NEW_PASSWORD = "a refused-notice passphrase 5";
const SERVER_ERROR = { error: "server_error", error_description: "the server could not handle the request" };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

afterEach(() => backgroundSettled());
afterEach(() => vi.restoreAllMocks());

/** A user of the demo workspace for one test, with alice's password. */
async function newUser() {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  const username = `kept-${randomUUID().slice(0, 8)}`;
  const user = await db().user.create({ data: { workspaceId, username, passwordHash, email: `${username}@example.com`, emailVerified: true } });
  return { id: user.id, workspaceId, username, email: user.email!, passwordHash };
}

/** A mailed link's token for the user, as the server stores it. */
async function link(user: { id: string; workspaceId: string }, purpose: "password_reset" | "email_verification", email?: string): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  await db().accountToken.create({
    data: {
      tokenHash: accountTokenHash(token),
      purpose,
      workspaceId: user.workspaceId,
      userId: user.id,
      clientId: purpose === "password_reset" ? "demo-web" : null,
      email: email ?? null,
      expiresAt: new Date(Date.now() + 3_600_000),
    },
  });
  return token;
}

/** A user with two-step verification on (enrolled and confirmed over HTTP), signed in with both steps: their secret and access token. */
async function userWithFactor() {
  const user = await newUser();
  const first = await signIn({ ...SPA, username: user.username, password: PASSWORD });
  const associate = await call(routes.mfaAssociate, `${ISSUER}/mfa/associate`, {
    body: { authenticator_types: "otp", password: PASSWORD },
    headers: bearer(first.access_token),
  });
  const { secret } = (await associate.json()) as { secret: string };
  expect((await call(routes.mfaConfirm, `${ISSUER}/mfa/confirm`, { body: { otp: codeAt(secret) }, headers: bearer(first.access_token) })).status).toBe(200);
  const mfaToken = await mfaTokenFor({ ...SPA, username: user.username, password: PASSWORD });
  // The code of the next time step: the one above is spent.
  const signedIn = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(secret, Date.now() + 30_000) });
  expect(signedIn.status).toBe(200);
  return { ...user, secret, token: ((await signedIn.json()) as { access_token: string }).access_token };
}

const refused = async (res: Response) => {
  expect(res.status).toBe(500);
  expect(await res.json()).toEqual(SERVER_ERROR);
};

const signInStatus = async (username: string, password: string) => (await postToken({ grant_type: "password", ...SPA, username, password })).status;
const pendingMails = (userId: string) => db().pendingMail.count({ where: { userId } });

/** The subjects of what was mailed to `address` (in development, this process's mailbox), once the work left for after the answers is done. */
async function noticesTo(address: string): Promise<string[]> {
  await backgroundSettled();
  return devMailbox()
    .filter((mail) => mail.to === address)
    .map((mail) => mail.subject);
}

describe("a change whose notice the database does not keep is not made", () => {
  it("a new password on the account page: the old one still signs in, the session goes on", async () => {
    const user = await newUser();
    const session = await signIn({ username: user.username, password: PASSWORD, scope: "openid account" }, WEB);
    const mailed = devMailbox().length;
    await whileMailsRefused(async () =>
      refused(
        await call(routes.accountPassword, `${ISSUER}/account/password`, {
          body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
          headers: bearer(session.access_token),
        }),
      ),
    );
    expect(await signInStatus(user.username, PASSWORD)).toBe(200);
    expect(await signInStatus(user.username, NEW_PASSWORD)).toBe(400);
    expect((await call(routes.accountSessions, `${ISSUER}/account/sessions`, { headers: bearer(session.access_token) })).status).toBe(200);
    await backgroundSettled();
    expect(devMailbox()).toHaveLength(mailed);
    expect(await pendingMails(user.id)).toBe(0);
  });

  it("a reset through a mailed link: the password unchanged, the link still good", async () => {
    const user = await newUser();
    const token = await link(user, "password_reset");
    const complete = () =>
      call(routes.passwordResetComplete, `${ISSUER}/account/password-reset/complete`, { body: { token, new_password: NEW_PASSWORD }, headers: WEB });
    await whileMailsRefused(async () => refused(await complete()));
    expect(await signInStatus(user.username, PASSWORD)).toBe(200);
    expect(await pendingMails(user.id)).toBe(0);
    // Once the notice can be kept, the same link resets the password, and the notice is kept with it.
    expect((await complete()).status).toBe(204);
    expect(await signInStatus(user.username, NEW_PASSWORD)).toBe(200);
    expect(await noticesTo(user.email)).toEqual(["Your password for Default workspace was changed"]);
  });

  it("a new address confirmed: the old one stays, and the link still good", async () => {
    const user = await newUser();
    const token = await link(user, "email_verification", "new-address@example.com");
    const verify = () => call(routes.accountEmailVerify, `${ISSUER}/account/email/verify`, { body: { token } });
    await whileMailsRefused(async () => refused(await verify()));
    expect(await db().user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ email: user.email });
    expect((await verify()).status).toBe(204);
    expect(await db().user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ email: "new-address@example.com" });
    expect(await noticesTo(user.email)).toEqual(["Your email address for Default workspace was changed"]);
  });

  it("two-step verification turned on: the enrolment stays pending", async () => {
    const user = await newUser();
    const { access_token } = await signIn({ ...SPA, username: user.username, password: PASSWORD });
    const associate = await call(routes.mfaAssociate, `${ISSUER}/mfa/associate`, {
      body: { authenticator_types: "otp", password: PASSWORD },
      headers: bearer(access_token),
    });
    const { secret } = (await associate.json()) as { secret: string };
    await whileMailsRefused(async () =>
      refused(await call(routes.mfaConfirm, `${ISSUER}/mfa/confirm`, { body: { otp: codeAt(secret) }, headers: bearer(access_token) })),
    );
    expect(await db().mfaFactor.findMany({ where: { userId: user.id }, select: { confirmedAt: true } })).toEqual([{ confirmedAt: null }]);
    expect(await pendingMails(user.id)).toBe(0);
  });

  it("two-step verification turned on at the sign-in that enrols it: the enrolment stays pending, and no tokens", async () => {
    const user = await newUser();
    await db().client.updateMany({ where: { clientId: "demo-spa" }, data: { mfaPolicy: "required" } });
    const { clearCaches } = await import("@/lib/platform/caches.ts");
    clearCaches("settings");
    try {
      const mfaToken = await mfaTokenFor({ ...SPA, username: user.username, password: PASSWORD });
      const associated = await call(routes.mfaAssociate, `${ISSUER}/mfa/associate`, { body: { authenticator_types: "otp" }, headers: bearer(mfaToken) });
      const { secret } = (await associated.json()) as { secret: string };
      await whileMailsRefused(async () => refused(await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(secret) })));
      expect(await db().mfaFactor.findMany({ where: { userId: user.id }, select: { confirmedAt: true } })).toEqual([{ confirmedAt: null }]);
      expect(await db().session.count({ where: { userId: user.id, amr: { contains: "mfa" } } })).toBe(0);
      // The failed step gave its attempt back: with room for one attempt at the account from an
      // address it has not signed in from, the next sign-in is taken, not refused as one too many.
      vi.spyOn(settings(), "LOCKOUT_ACCOUNT_LIMIT", "get").mockReturnValue(1);
      const again = await postToken({ grant_type: "password", ...SPA, username: user.username, password: PASSWORD });
      expect(again.status).toBe(403);
      expect(((await again.json()) as { error: string }).error).toBe("mfa_required");
    } finally {
      await db().client.updateMany({ where: { clientId: "demo-spa" }, data: { mfaPolicy: null } });
      clearCaches("settings");
    }
  });

  it("new recovery codes: the old ones stay, and two-step verification turned off: the factor stays", async () => {
    const user = await userWithFactor();
    const codesBefore = await db().mfaRecoveryCode.findMany({
      where: { factor: { userId: user.id } },
      select: { codeHash: true },
      orderBy: { codeHash: "asc" },
    });
    const pendingBefore = await pendingMails(user.id);
    await whileMailsRefused(async () => {
      await refused(await call(routes.mfaRecoveryCodes, `${ISSUER}/mfa/recovery-codes`, { body: { password: PASSWORD }, headers: bearer(user.token) }));
      await refused(await call(routes.mfaRemove, `${ISSUER}/mfa/remove`, { body: { password: PASSWORD }, headers: bearer(user.token) }));
    });
    expect(await db().mfaRecoveryCode.findMany({ where: { factor: { userId: user.id } }, select: { codeHash: true }, orderBy: { codeHash: "asc" } })).toEqual(
      codesBefore,
    );
    expect(await db().mfaFactor.count({ where: { userId: user.id, confirmedAt: { not: null } } })).toBe(1);
    expect(await pendingMails(user.id)).toBe(pendingBefore);
  });

  it("an operator's new password, new address and removal of the factors: each refused whole", async () => {
    const user = await userWithFactor();
    const pendingBefore = await pendingMails(user.id);
    await whileMailsRefused(async () => {
      await expect(resetPassword("demo/default", user.username, NEW_PASSWORD)).rejects.toThrow(/mail refused by the test/);
      await expect(setUser("demo/default", user.username, { email: "operator-set@example.com" })).rejects.toThrow(/mail refused by the test/);
      await expect(resetFactors("demo/default", user.username)).rejects.toThrow(/mail refused by the test/);
    });
    expect(await db().user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ passwordHash: user.passwordHash, email: user.email });
    expect(await db().mfaFactor.count({ where: { userId: user.id } })).toBe(1);
    expect(await pendingMails(user.id)).toBe(pendingBefore);
    expect(await db().auditEvent.count({ where: { userId: user.id, event: { startsWith: "admin." } } })).toBe(0);
  });
});
