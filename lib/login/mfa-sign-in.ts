import { chunkedCookieValue, chunkedCookieWrites, isChunkOf } from "@/lib/login/cookie-chunks.ts";
import { seal, setCookieHeader, unseal } from "@/lib/login/sealed-cookie.ts";
import { loginConfig } from "@/lib/login/config.ts";
import {
  associateOtp,
  mfaAuthenticators,
  passwordSignIn,
  SecondFactorRequired,
  secondFactorSignIn,
  SignInError,
  type EndUser,
  type OtpEnrolment,
  type SignedIn,
  type SignInFailure,
} from "@/lib/login/token-client.ts";

/**
 * A sign-in between its password and its session, kept in a sealed httpOnly cookie:
 *
 * - `code`: the server answered `mfa_required`; the page asks for a code (or a recovery code);
 * - `enrol`: the policy requires a second factor the user does not have; the page shows the new
 *   secret and asks for its first code, which confirms it;
 * - `recovery-codes`: that code was right; the page shows the recovery codes once, and only then
 *   does the session begin (the tokens wait here, sealed).
 */
export type MfaStep =
  | { stage: "code"; mfaToken: string }
  | { stage: "enrol"; mfaToken: string; enrolment: OtpEnrolment }
  | { stage: "recovery-codes"; signedIn: SignedIn & { user: NonNullable<SignedIn["user"]> }; recoveryCodes: string[] };

/** As long as the server's `mfa_token` lives by default; the server's own expiry still applies. */
export const MFA_STEP_SECONDS = 300;

export function mfaStepCookieName(secure = loginConfig().secureCookies): string {
  return `${secure ? "__Host-" : ""}login-mfa-step`;
}

export async function openMfaStep(value: string | undefined, now = Date.now()): Promise<MfaStep | null> {
  const payload = await unseal("mfa-step", value, now);
  return payload?.step && typeof payload.step === "object" ? (payload.step as MfaStep) : null;
}

/**
 * The sealed step among a request's cookies. The recovery-codes stage holds the tokens and the
 * user's profile, which at the longest name and address the profile allows pass one cookie's
 * 4 kB: it is split as the session is (cookie-chunks.ts).
 */
export function mfaStepCookieValue(cookies: Iterable<{ name: string; value: string }>): string | undefined {
  return chunkedCookieValue(cookies, mfaStepCookieName());
}

/**
 * The names to delete to forget the step: its own, and every chunk of it among `existing` (the
 * request's cookie names).
 */
export function mfaStepCookieNames(existing: Iterable<string>): string[] {
  const name = mfaStepCookieName();
  return [...new Set([name, ...existing].filter((cookie) => isChunkOf(cookie, name)))];
}

/**
 * The Set-Cookie headers that store `step` (in chunks when it is long), or delete it when it is
 * null, and delete what of the request's step cookies (`existing`, their names) the new value
 * does not use.
 */
export async function mfaStepCookies(step: MfaStep | null, existing: Iterable<string> = [], now = Date.now()): Promise<string[]> {
  const name = mfaStepCookieName();
  const { set, remove } = step
    ? chunkedCookieWrites(await seal("mfa-step", { step }, MFA_STEP_SECONDS, now), existing, name)
    : { set: [], remove: mfaStepCookieNames(existing) };
  return [
    ...set.map(([cookie, value]) => setCookieHeader({ name: cookie, path: "/", maxAge: MFA_STEP_SECONDS }, value)),
    ...remove.map((cookie) => setCookieHeader({ name: cookie, path: "/", maxAge: 0 }, "")),
  ];
}

/** What the sign-in form sent: the password, or a code for the step in progress, or "done" after the recovery codes. */
export interface StepCredentials {
  username?: string;
  password?: string;
  otp?: string;
  recoveryCode?: string;
  done?: string;
}

/**
 * One submit of the sign-in form. `next` is the step to keep (null: none, undefined: leave the
 * cookie as it is).
 */
export type StepOutcome =
  | { kind: "signed_in"; signedIn: SignedIn & { user: NonNullable<SignedIn["user"]> }; next: null }
  | { kind: "next_step"; next: MfaStep }
  | { kind: "failed"; reason: SignInFailure; next?: null; retryAt?: number };

function signedInWithUser(signedIn: SignedIn): SignedIn & { user: NonNullable<SignedIn["user"]> } {
  if (!signedIn.user) throw new SignInError("refused", "no user");
  return { ...signedIn, user: signedIn.user };
}

/** After `mfa_required`: the code step when the user has a factor, else enrolment (a `required` policy). */
async function secondStep(mfaToken: string): Promise<MfaStep> {
  const factors = await mfaAuthenticators(mfaToken).catch((err: unknown) => {
    // A server without Auth0's MFA API can still take a code: ask for one.
    if (err instanceof SignInError && err.reason === "refused") return null;
    throw err;
  });
  if (!factors || factors.some((f) => f.active)) return { stage: "code", mfaToken };
  return { stage: "enrol", mfaToken, enrolment: await associateOtp(mfaToken) };
}

async function attempt(credentials: StepCredentials, current: MfaStep | null, endUser: EndUser): Promise<StepOutcome> {
  const { username, password, otp, recoveryCode, done } = credentials;
  if (username && password) {
    try {
      return { kind: "signed_in", signedIn: signedInWithUser(await passwordSignIn(username, password, endUser)), next: null };
    } catch (err) {
      if (!(err instanceof SecondFactorRequired)) throw err;
      return { kind: "next_step", next: await secondStep(err.mfaToken) };
    }
  }
  if (done && current?.stage === "recovery-codes") return { kind: "signed_in", signedIn: current.signedIn, next: null };
  // The codes' page outlived its step (MFA_STEP_SECONDS): the sign-in starts again, the factor enrolled.
  if (done && !current) return { kind: "failed", reason: "mfa_expired", next: null };
  // People type codes as they read them: "123 456", a recovery code with its dashes.
  const code = (otp ?? recoveryCode)?.replace(/\s/g, "");
  if (!code) return { kind: "failed", reason: current ? "invalid_code" : "invalid_credentials" };
  if (!current || current.stage === "recovery-codes" || (current.stage === "enrol" && !otp)) return { kind: "failed", reason: "mfa_expired", next: null };
  const signedIn = signedInWithUser(await secondFactorSignIn(current.mfaToken, otp ? { otp: code } : { recoveryCode: code }, endUser));
  if (current.stage === "code") return { kind: "signed_in", signedIn, next: null };
  return { kind: "next_step", next: { stage: "recovery-codes", signedIn, recoveryCodes: current.enrolment.recoveryCodes } };
}

/**
 * Runs one submit of the sign-in form against the step in progress. A step the server no longer
 * honours ends here (the user starts again from the password); a wrong code keeps it.
 */
export async function signInStep(credentials: StepCredentials, current: MfaStep | null, endUser: EndUser): Promise<StepOutcome> {
  try {
    return await attempt(credentials, current, endUser);
  } catch (err) {
    const reason = err instanceof SignInError ? err.reason : "unreachable";
    if (reason === "mfa_expired") return { kind: "failed", reason, next: null };
    const retryAt = err instanceof SignInError ? err.retryAt : undefined;
    return { kind: "failed", reason, ...(retryAt ? { retryAt } : {}) };
  }
}
