import { decodeJwt } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { settings } from "@/lib/platform/env.ts";
import { routes, type WorkspaceRoute } from "@/lib/oauth/routes.ts";
import { parseBasic } from "@/lib/oauth/client-auth/methods/client-secret-basic.ts";
import { routeContext } from "@/lib/testing/oauth.ts";
import { codeAt, DAVE, DAVE_RECOVERY_CODES, DAVE_SECRET, MFA_OTP, MFA_RECOVERY_CODE } from "@/lib/testing/mfa.ts";
import {
  associateOtp,
  confirmOtpEnrolment,
  END_USER_IP_HEADER,
  mfaAuthenticators,
  passwordSignIn,
  regenerateRecoveryCodes,
  removeSecondFactor,
  SecondFactorRequired,
  secondFactorSignIn,
  setFetchForTests,
  SignInError,
  type SignedIn,
} from "@/lib/login/token-client.ts";
import { MFA_STEP_SECONDS, mfaStepCookieNames, mfaStepCookies, mfaStepCookieValue, openMfaStep, signInStep, type MfaStep } from "@/lib/login/mfa-sign-in.ts";
import { withCharChanged } from "@/lib/testing/tamper.ts";
import { startEnrolment, turnOff } from "@/lib/login/account-mfa.ts";
import { accountError } from "@/lib/login/account-page.ts";
import { signInMessage } from "@/lib/login/messages.ts";
import { MFA_FACTOR_MAX_WRONG_CODES } from "@/lib/oauth/model/mfa.ts";

// The login app's second step against the real routes, in-process (as in token-client.test.ts):
// the token endpoint with Auth0's MFA grants and the /mfa endpoints, as demo-web.
const ROUTES: Record<string, WorkspaceRoute> = {
  "/demo/default/.well-known/openid-configuration": routes.discovery,
  "/demo/default/.well-known/jwks.json": routes.jwks,
  "/demo/default/oauth2/token": routes.token,
  "/demo/default/mfa/authenticators": routes.mfaAuthenticators,
  "/demo/default/mfa/associate": routes.mfaAssociate,
  "/demo/default/mfa/confirm": routes.mfaConfirm,
  "/demo/default/mfa/remove": routes.mfaRemove,
  "/demo/default/mfa/recovery-codes": routes.mfaRecoveryCodes,
};

type Tamper = (url: URL, respond: () => Promise<Response>) => Promise<Response>;
let tamper: Tamper | undefined;
const requests: Request[] = [];

const inProcessFetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const request = new Request(input, init);
  requests.push(request.clone());
  const url = new URL(request.url);
  const route = ROUTES[url.pathname];
  const handler = route?.[request.method as "GET" | "POST"];
  const respond = async () => (handler ? handler(request, routeContext()) : new Response("not found", { status: 404 }));
  return tamper ? tamper(url, respond) : respond();
}) as typeof fetch;

beforeEach(() => {
  tamper = undefined;
  requests.length = 0;
  setFetchForTests(inProcessFetch);
});
afterEach(() => {
  setFetchForTests(undefined);
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const END_USER = { ip: "203.0.113.7", userAgent: "Test Browser" };

/** A user of the demo workspace for one test, with alice's password. */
async function newUser(username: string) {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  await db().user.create({ data: { workspaceId, username, passwordHash, name: `${username} Example`, email: `${username}@example.com` } });
  return { username, password: "alice-password-1" };
}

/** Dave's password step through the login app's client: the mfa_token it is answered with. */
async function daveMfaToken(): Promise<string> {
  const err = await passwordSignIn(DAVE.username, DAVE.password, END_USER).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SecondFactorRequired);
  return (err as SecondFactorRequired).mfaToken;
}

// Dave's code of a time step works once in this file's database: each test that uses one moves
// the clock (Date only) to time steps no earlier test has reached, without sleeping.
let ahead = 0;
function nextStep() {
  ahead += 90_000;
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + ahead);
}

const amr = (signedIn: SignedIn) => decodeJwt(signedIn.tokens.accessToken).amr;
const lastTokenRequest = () => requests.filter((r) => new URL(r.url).pathname.endsWith("/oauth2/token")).at(-1)!;

/** demo-web's own MFA policy for the duration of `run` (its cached settings dropped either way). */
async function withLoginClientPolicy<T>(policy: "required" | "off", run: () => Promise<T>): Promise<T> {
  await db().client.updateMany({ where: { clientId: "demo-web" }, data: { mfaPolicy: policy } });
  clearCaches("settings");
  try {
    return await run();
  } finally {
    await db().client.updateMany({ where: { clientId: "demo-web" }, data: { mfaPolicy: null } });
    clearCaches("settings");
  }
}

describe("token-client: the MFA grants", () => {
  it("answers dave's password with the step-up, and a current code with validated tokens (amr otp)", async () => {
    nextStep();
    const mfaToken = await daveMfaToken();
    const signedIn = await secondFactorSignIn(mfaToken, { otp: codeAt(DAVE_SECRET) }, END_USER);
    expect(signedIn.user).toMatchObject({ name: "Dave Example", email: "dave@example.com" });
    expect(signedIn.tokens.refreshToken).toBeDefined();
    expect(amr(signedIn)).toEqual(["pwd", "otp", "mfa"]);
    const request = lastTokenRequest();
    expect(parseBasic(request.headers.get("authorization")!, "")).toEqual({ clientId: "demo-web", secret: "demo-web-secret" });
    expect(request.headers.get(END_USER_IP_HEADER)).toBe(END_USER.ip);
    expect(Object.fromEntries(new URLSearchParams(await request.text()))).toEqual({ grant_type: MFA_OTP, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) });
  });

  it("signs in with a recovery code (amr without otp), which then works no more", async () => {
    const code = DAVE_RECOVERY_CODES[3]!;
    const signedIn = await secondFactorSignIn(await daveMfaToken(), { recoveryCode: code });
    expect(amr(signedIn)).toEqual(["pwd", "mfa"]);
    expect(Object.fromEntries(new URLSearchParams(await lastTokenRequest().text()))).toMatchObject({ grant_type: MFA_RECOVERY_CODE, recovery_code: code });
    await expect(secondFactorSignIn(await daveMfaToken(), { recoveryCode: code })).rejects.toMatchObject({ reason: "invalid_code" });
  });

  it("tells a wrong or replayed code (invalid_code) from a step the server no longer honours (mfa_expired)", async () => {
    nextStep();
    const mfaToken = await daveMfaToken();
    await expect(secondFactorSignIn(mfaToken, { otp: "12345x" })).rejects.toMatchObject({ reason: "invalid_code" });
    const code = codeAt(DAVE_SECRET);
    await secondFactorSignIn(mfaToken, { otp: code });
    // The token is spent by the sign-in; a second sign-in's token refuses the same code.
    await expect(secondFactorSignIn(mfaToken, { otp: code })).rejects.toMatchObject({ reason: "mfa_expired" });
    await expect(secondFactorSignIn(await daveMfaToken(), { otp: code })).rejects.toMatchObject({ reason: "invalid_code" });
    await expect(secondFactorSignIn("no-such-mfa-token", { otp: "123456" })).rejects.toMatchObject({ reason: "mfa_expired" });
  });

  it("ends the step after the fifth wrong code", async () => {
    const mfaToken = await daveMfaToken();
    const right = new Set([-30_000, 0, 30_000].map((d) => codeAt(DAVE_SECRET, Date.now() + d)));
    const wrong = ["000000", "111111", "222222", "333333", "444444", "555555", "666666"].filter((c) => !right.has(c));
    for (const code of wrong.slice(0, 4)) await expect(secondFactorSignIn(mfaToken, { otp: code })).rejects.toMatchObject({ reason: "invalid_code" });
    await expect(secondFactorSignIn(mfaToken, { otp: wrong[4]! })).rejects.toMatchObject({ reason: "mfa_expired" });
    await expect(secondFactorSignIn(mfaToken, { otp: codeAt(DAVE_SECRET) })).rejects.toMatchObject({ reason: "mfa_expired" });
  });

  it("reports a lockout as too_many_attempts and an unreachable server as unreachable", async () => {
    const mfaToken = await daveMfaToken();
    tamper = async (url, respond) =>
      url.pathname.endsWith("/token") ? Response.json({ error: "too_many_attempts" }, { status: 429, headers: { "Retry-After": "60" } }) : respond();
    await expect(secondFactorSignIn(mfaToken, { otp: "123456" })).rejects.toMatchObject({ reason: "too_many_attempts" });
    tamper = async () => {
      throw new TypeError("fetch failed");
    };
    await expect(secondFactorSignIn(mfaToken, { otp: "123456" })).rejects.toMatchObject({ reason: "unreachable" });
  });
});

describe("token-client: the MFA API", () => {
  it("lists dave's factors with his mfa_token; a token it does not honour is mfa_expired", async () => {
    expect(await mfaAuthenticators(await daveMfaToken())).toEqual([
      { id: expect.stringMatching(/^otp\|/), type: "otp", active: true },
      { id: expect.stringMatching(/^recovery-code\|/), type: "recovery-code", active: true },
    ]);
    await expect(mfaAuthenticators("not-a-token")).rejects.toMatchObject({ reason: "mfa_expired" });
  });

  it("enrols from a session: associate, a wrong then a right code, new recovery codes, then removal", async () => {
    const gus = await newUser("gus");
    const { tokens } = await passwordSignIn(gus.username, gus.password);
    expect(await mfaAuthenticators(tokens.accessToken)).toEqual([]);
    // A session alone adds no factor: the password goes with it.
    await expect(associateOtp(tokens.accessToken)).rejects.toMatchObject({ reason: "refused" });
    await expect(associateOtp(tokens.accessToken, "not-gus's-password")).rejects.toMatchObject({ reason: "invalid_code" });
    const enrolment = await associateOtp(tokens.accessToken, gus.password);
    expect(enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrolment.barcodeUri).toMatch(/^otpauth:\/\/totp\/demo%2Fdefault:gus\?/);
    expect(enrolment.recoveryCodes).toHaveLength(10);
    // Pending: it lists nothing, and the next sign-in needs no code.
    expect(await mfaAuthenticators(tokens.accessToken)).toEqual([]);
    await expect(confirmOtpEnrolment(tokens.accessToken, "000000")).rejects.toMatchObject({ reason: "invalid_code" });
    await confirmOtpEnrolment(tokens.accessToken, codeAt(enrolment.secret));
    expect((await mfaAuthenticators(tokens.accessToken)).map((a) => a.type)).toEqual(["otp", "recovery-code"]);
    // Already enrolled: a second association is refused.
    await expect(associateOtp(tokens.accessToken, gus.password)).rejects.toMatchObject({ reason: "refused" });
    await expect(passwordSignIn(gus.username, gus.password)).rejects.toBeInstanceOf(SecondFactorRequired);

    // This session signed in without a code: the password does not prove a change of the factor (RFC 9470 step-up).
    await expect(regenerateRecoveryCodes(tokens.accessToken, { password: gus.password })).rejects.toMatchObject({ reason: "code_required" });
    nextStep();
    const fresh = await regenerateRecoveryCodes(tokens.accessToken, { otp: codeAt(enrolment.secret) });
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(enrolment.recoveryCodes[0]);
    await expect(removeSecondFactor(tokens.accessToken, { otp: "000000" })).rejects.toMatchObject({ reason: "invalid_code" });
    nextStep();
    await removeSecondFactor(tokens.accessToken, { otp: codeAt(enrolment.secret) });
    expect(await mfaAuthenticators(tokens.accessToken)).toEqual([]);
    expect((await passwordSignIn(gus.username, gus.password)).user?.name).toBe("gus Example");
  });

  it("the account page's set-up: a wrong password, then the lockout, each in the page's words", async () => {
    const hal = await newUser("hal");
    const { tokens } = await passwordSignIn(hal.username, hal.password);
    const words = (result: { ok: boolean; error?: string }) =>
      result.ok ? "started" : accountError(result.error, { minLength: 8, maxLength: 128, rejects: [] });
    expect(words(await startEnrolment(tokens.accessToken, "hal", ""))).toBe("Enter your current password.");
    vi.spyOn(settings(), "LOCKOUT_IP_LIMIT", "get").mockReturnValue(3);
    for (let i = 0; i < 3; i++) expect(words(await startEnrolment(tokens.accessToken, "hal", "wrong"))).toBe("Your current password is not right.");
    // Counted like sign-ins: the right password is refused too, until the lockout ends.
    expect(words(await startEnrolment(tokens.accessToken, "hal", hal.password))).toBe(
      "Too many wrong passwords. Please wait a few minutes before trying again.",
    );
  });

  it("the account page's turning off: a factor it cannot list is not reported off", async () => {
    const ivy = await newUser("ivy");
    const { tokens } = await passwordSignIn(ivy.username, ivy.password);
    const enrolment = await associateOtp(tokens.accessToken, ivy.password);
    await confirmOtpEnrolment(tokens.accessToken, codeAt(enrolment.secret));
    // The list fails (a lockout, a server restarting): nothing was removed, and the page must not say it was.
    tamper = async (url, respond) =>
      url.pathname.endsWith("/mfa/authenticators") ? Response.json({ error: "temporarily_unavailable" }, { status: 503 }) : respond();
    expect(await turnOff(tokens.accessToken, ivy.password)).toEqual({ error: "unavailable" });
    tamper = undefined;
    expect((await mfaAuthenticators(tokens.accessToken)).map((a) => a.type)).toEqual(["otp", "recovery-code"]);
    // Signed in without a code, the page asks for one, in its words.
    const refused = await turnOff(tokens.accessToken, ivy.password);
    expect(refused).toEqual({ error: "code_required" });
    expect(accountError(refused.error, { minLength: 8, maxLength: 128, rejects: [] })).toBe(
      "You signed in without a code this time, so your password can't confirm this. Enter the 6-digit code your authenticator app shows.",
    );
    // Its codes refused after too many wrong ones in a row: the page says so, in its words.
    await db().mfaFactor.updateMany({ where: { user: { username: "ivy" } }, data: { wrongCodes: MFA_FACTOR_MAX_WRONG_CODES } });
    const locked = await turnOff(tokens.accessToken, codeAt(enrolment.secret));
    expect(locked).toEqual({ error: "otp_locked" });
    expect(accountError(locked.error, { minLength: 8, maxLength: 128, rejects: [] })).toBe(
      "Too many wrong codes in a row, so codes from your authenticator app are turned off. Confirm with your password; signing in once with a recovery code turns the codes back on.",
    );
    await db().mfaFactor.updateMany({ where: { user: { username: "ivy" } }, data: { wrongCodes: 0 } });
    nextStep();
    expect(await turnOff(tokens.accessToken, codeAt(enrolment.secret))).toEqual({ done: true });
    // Off already: done, as before.
    expect(await turnOff(tokens.accessToken, ivy.password)).toEqual({ done: true });
  });

  it("reports a lockout, an answer that is not JSON and an unreachable server", async () => {
    const mfaToken = await daveMfaToken();
    tamper = async (url, respond) => (url.pathname.includes("/mfa/") ? Response.json({ error: "too_many_attempts" }, { status: 429 }) : respond());
    await expect(mfaAuthenticators(mfaToken)).rejects.toMatchObject({ reason: "too_many_attempts" });
    tamper = async (url, respond) => (url.pathname.includes("/mfa/") ? new Response("<html>", { status: 200 }) : respond());
    await expect(mfaAuthenticators(mfaToken)).rejects.toMatchObject({ reason: "refused" });
    tamper = async (url, respond) => (url.pathname.includes("/mfa/") ? Response.json({ secret: 1 }) : respond());
    await expect(associateOtp(mfaToken)).rejects.toMatchObject({ reason: "refused" });
    tamper = async (url, respond) => {
      if (url.pathname.includes("/mfa/")) throw new TypeError("fetch failed");
      return respond();
    };
    await expect(mfaAuthenticators(mfaToken)).rejects.toMatchObject({ reason: "unreachable" });
  });
});

describe("signInStep: one submit of the sign-in form", () => {
  it("signs a user without a factor in at once, with no step to keep", async () => {
    const outcome = await signInStep({ username: "alice", password: "alice-password-1" }, null, END_USER);
    expect(outcome).toMatchObject({ kind: "signed_in", next: null, signedIn: { user: { name: "Alice Example" } } });
  });

  it("refuses a wrong password as before: no step, no hint", async () => {
    expect(await signInStep({ username: "dave", password: "wrong" }, null, END_USER)).toEqual({ kind: "failed", reason: "invalid_credentials" });
  });

  it("asks dave for a code, keeps the step through a wrong one, and signs him in with a right one", async () => {
    nextStep();
    const first = await signInStep(DAVE, null, END_USER);
    expect(first).toMatchObject({ kind: "next_step", next: { stage: "code", mfaToken: expect.any(String) } });
    const step = (first as { next: MfaStep }).next;
    // A wrong code: the step stays (next undefined leaves the cookie alone).
    expect(await signInStep({ otp: "000 000" === codeAt(DAVE_SECRET) ? "111111" : "000 000" }, step, END_USER)).toEqual({
      kind: "failed",
      reason: "invalid_code",
    });
    // Spaces as people type them.
    const code = codeAt(DAVE_SECRET);
    const done = await signInStep({ otp: `${code.slice(0, 3)} ${code.slice(3)}` }, step, END_USER);
    expect(done).toMatchObject({ kind: "signed_in", next: null, signedIn: { user: { name: "Dave Example" } } });
    expect(amr((done as { signedIn: SignedIn }).signedIn)).toEqual(["pwd", "otp", "mfa"]);
  });

  it("keeps the step when the server refuses the app's codes (otp_locked), and a recovery code then passes it", async () => {
    nextStep();
    const step = ((await signInStep(DAVE, null, END_USER)) as { next: MfaStep }).next;
    await db().mfaFactor.updateMany({ where: { user: { username: "dave" } }, data: { wrongCodes: MFA_FACTOR_MAX_WRONG_CODES } });
    try {
      // The right code is refused too; the step stays (next undefined leaves the cookie alone).
      expect(await signInStep({ otp: codeAt(DAVE_SECRET) }, step, END_USER)).toEqual({ kind: "failed", reason: "otp_locked" });
      expect(signInMessage("otp_locked")).toBe(
        "Too many wrong codes in a row, so codes from your authenticator app are turned off. Use a recovery code instead: that turns them back on.",
      );
      const done = await signInStep({ recoveryCode: DAVE_RECOVERY_CODES[7]! }, step, END_USER);
      expect(done).toMatchObject({ kind: "signed_in", next: null });
    } finally {
      await db().mfaFactor.updateMany({ where: { user: { username: "dave" } }, data: { wrongCodes: 0 } });
    }
  });

  it("takes a recovery code with its dashes and spaces", async () => {
    const step = ((await signInStep(DAVE, null, END_USER)) as { next: MfaStep }).next;
    const done = await signInStep({ recoveryCode: ` ${DAVE_RECOVERY_CODES[5]!.toLowerCase()} ` }, step, END_USER);
    expect(done).toMatchObject({ kind: "signed_in", next: null });
    expect(amr((done as { signedIn: SignedIn }).signedIn)).toEqual(["pwd", "mfa"]);
  });

  it("sends the user back to the password when the step is gone or the server no longer honours it", async () => {
    expect(await signInStep({ otp: "123456" }, null, END_USER)).toEqual({ kind: "failed", reason: "mfa_expired", next: null });
    const expired: MfaStep = { stage: "code", mfaToken: "no-such-mfa-token" };
    expect(await signInStep({ otp: "123456" }, expired, END_USER)).toEqual({ kind: "failed", reason: "mfa_expired", next: null });
    // An empty submit is a wrong code while a step lives, a wrong password before.
    expect(await signInStep({ otp: " " }, expired, END_USER)).toEqual({ kind: "failed", reason: "invalid_code" });
    expect(await signInStep({}, null, END_USER)).toEqual({ kind: "failed", reason: "invalid_credentials" });
  });

  it("keeps the step when the server cannot be reached", async () => {
    const step = ((await signInStep(DAVE, null, END_USER)) as { next: MfaStep }).next;
    tamper = async () => {
      throw new TypeError("fetch failed");
    };
    expect(await signInStep({ otp: "123456" }, step, END_USER)).toEqual({ kind: "failed", reason: "unreachable" });
  });

  it("asks for a code when the server has no MFA API to say which factors the user has", async () => {
    tamper = async (url, respond) => (url.pathname.includes("/mfa/") ? new Response("not found", { status: 404 }) : respond());
    expect(await signInStep(DAVE, null, END_USER)).toMatchObject({ kind: "next_step", next: { stage: "code" } });
  });

  it("under a required policy, enrols a user without a factor before the session: secret, code, recovery codes, done", async () => {
    const ida = await newUser("ida");
    await withLoginClientPolicy("required", async () => {
      const first = await signInStep(ida, null, END_USER);
      expect(first).toMatchObject({ kind: "next_step", next: { stage: "enrol", mfaToken: expect.any(String) } });
      const enrol = (first as { next: Extract<MfaStep, { stage: "enrol" }> }).next;
      expect(enrol.enrolment.secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(enrol.enrolment.recoveryCodes).toHaveLength(10);

      // A wrong code keeps the enrolment; a recovery code is no way to confirm it.
      expect(await signInStep({ otp: codeAt(enrol.enrolment.secret) === "000000" ? "111111" : "000000" }, enrol, END_USER)).toEqual({
        kind: "failed",
        reason: "invalid_code",
      });
      expect(await signInStep({ recoveryCode: enrol.enrolment.recoveryCodes[0]! }, enrol, END_USER)).toMatchObject({ kind: "failed", reason: "mfa_expired" });

      // Start again: a new password step replaces the pending enrolment with a new secret.
      const again = ((await signInStep(ida, null, END_USER)) as { next: Extract<MfaStep, { stage: "enrol" }> }).next;
      expect(again.stage).toBe("enrol");
      expect(again.enrolment.secret).not.toBe(enrol.enrolment.secret);
      const confirmed = await signInStep({ otp: codeAt(again.enrolment.secret) }, again, END_USER);
      expect(confirmed).toMatchObject({ kind: "next_step", next: { stage: "recovery-codes", recoveryCodes: again.enrolment.recoveryCodes } });
      const shown = (confirmed as { next: Extract<MfaStep, { stage: "recovery-codes" }> }).next;
      expect(amr(shown.signedIn)).toEqual(["pwd", "otp", "mfa"]);
      expect(shown.signedIn.user.name).toBe("ida Example");

      // Only "done" at that stage ends the sign-in; the tokens are those the code earned.
      expect(await signInStep({ done: "1" }, shown, END_USER)).toEqual({ kind: "signed_in", signedIn: shown.signedIn, next: null });
      // Its step gone (sealed for MFA_STEP_SECONDS): the sign-in took too long, not a wrong password.
      expect(await signInStep({ done: "1" }, null, END_USER)).toEqual({ kind: "failed", reason: "mfa_expired", next: null });

      // Enrolled: the next sign-in asks for a code, which a recovery code shown at enrolment answers.
      const next = ((await signInStep(ida, null, END_USER)) as { next: MfaStep }).next;
      expect(next.stage).toBe("code");
      expect(await signInStep({ recoveryCode: again.enrolment.recoveryCodes[1]! }, next, END_USER)).toMatchObject({ kind: "signed_in" });
    });
  });

  it("under a required policy, a user who already has a factor is simply asked for it", async () => {
    await withLoginClientPolicy("required", async () => {
      expect(await signInStep(DAVE, null, END_USER)).toMatchObject({ kind: "next_step", next: { stage: "code" } });
    });
  });
});

describe("the sealed step cookie", () => {
  /** The cookies a browser keeps from Set-Cookie headers (deleting those at Max-Age=0), as a request would carry them. */
  const kept = (headers: string[], jar = new Map<string, string>()) => {
    for (const header of headers) {
      const [pair] = header.split(";");
      const name = pair!.slice(0, pair!.indexOf("="));
      if (/; Max-Age=0;/.test(header)) jar.delete(name);
      else jar.set(name, pair!.slice(pair!.indexOf("=") + 1));
    }
    return jar;
  };
  const cookiesOf = (jar: Map<string, string>) => [...jar].map(([name, value]) => ({ name, value }));

  it("carries each stage, each cookie within a browser's 4096-byte limit, and expires with its step", async () => {
    const jay = await newUser("jay");
    await withLoginClientPolicy("required", async () => {
      const enrol = ((await signInStep(jay, null, END_USER)) as { next: Extract<MfaStep, { stage: "enrol" }> }).next;
      const shown = ((await signInStep({ otp: codeAt(enrol.enrolment.secret) }, enrol, END_USER)) as { next: MfaStep }).next;
      for (const step of [enrol, shown]) {
        const headers = await mfaStepCookies(step);
        // RFC 6265 §6.1: browsers keep at least 4096 bytes of name, value and attributes together.
        for (const header of headers) expect(header.length).toBeLessThan(4096);
        const value = mfaStepCookieValue(cookiesOf(kept(headers)));
        expect(await openMfaStep(value)).toEqual(step);
        expect(await openMfaStep(value, Date.now() + (MFA_STEP_SECONDS + 1) * 1000)).toBeNull();
        expect(headers[0]).toMatch(/; HttpOnly; SameSite=Strict/);
      }
      expect(await mfaStepCookies(null)).toEqual([expect.stringMatching(/^login-mfa-step=; Path=\/; Max-Age=0;/)]);
    });
  });

  it("splits a step too long for one cookie (the longest name and address), and leaves no stale chunk behind", async () => {
    const long = await newUser("long-step");
    await db().user.update({
      where: { workspaceId_username: { workspaceId: (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id, username: long.username } },
      data: { name: `Long ${"Details ".repeat(23)}Example`, email: `long-step-${"x".repeat(231)}@example.com` },
    });
    await withLoginClientPolicy("required", async () => {
      const enrol = ((await signInStep(long, null, END_USER)) as { next: Extract<MfaStep, { stage: "enrol" }> }).next;
      const jar = kept(await mfaStepCookies(enrol));
      const shown = ((await signInStep({ otp: codeAt(enrol.enrolment.secret) }, enrol, END_USER)) as { next: MfaStep }).next;
      expect(shown.stage).toBe("recovery-codes");
      const headers = await mfaStepCookies(shown, jar.keys());
      for (const header of headers) expect(header.length).toBeLessThan(4096);
      kept(headers, jar);
      expect([...jar.keys()].sort()).toEqual(["login-mfa-step.0", "login-mfa-step.1"]);
      expect(await openMfaStep(mfaStepCookieValue(cookiesOf(jar)))).toEqual(shown);
      // A short step after it: the chunks go, or they would be joined to it.
      kept(await mfaStepCookies({ stage: "code", mfaToken: "x" }, jar.keys()), jar);
      expect([...jar.keys()]).toEqual(["login-mfa-step"]);
      expect(await openMfaStep(mfaStepCookieValue(cookiesOf(jar)))).toEqual({ stage: "code", mfaToken: "x" });
      // The end of the sign-in deletes every chunk there is.
      kept(await mfaStepCookies(shown, jar.keys()), jar);
      expect(kept(await mfaStepCookies(null, jar.keys()), jar).size).toBe(0);
    });
  });

  it('names every cookie of the step to forget it ("Start again"), and no other cookie', () => {
    expect(mfaStepCookieNames([])).toEqual(["login-mfa-step"]);
    expect(mfaStepCookieNames(["session", "login-mfa-step.1", "login-mfa-step.0", "login-mfa-step", "login-mfa-steps", "login-mfa-step.x"])).toEqual([
      "login-mfa-step",
      "login-mfa-step.1",
      "login-mfa-step.0",
    ]);
  });

  it("opens nothing that was tampered with or sealed for another purpose", async () => {
    const [header] = await mfaStepCookies({ stage: "code", mfaToken: "x" });
    const value = header!.split(";")[0]!.split("=")[1]!;
    // One character inside the tag changed.
    expect(await openMfaStep(withCharChanged(value, -10))).toBeNull();
    expect(await openMfaStep(undefined)).toBeNull();
    const { seal } = await import("@/lib/login/sealed-cookie.ts");
    expect(await openMfaStep(await seal("account-enrolment", { step: { stage: "code", mfaToken: "x" } }, 60))).toBeNull();
  });
});

it("is not a SignInError for a caller to mistake: SecondFactorRequired carries the token and says mfa_required", async () => {
  const err = await passwordSignIn(DAVE.username, DAVE.password).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SignInError);
  expect(err).toMatchObject({ reason: "mfa_required", mfaToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
});
