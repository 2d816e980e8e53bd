import { seal, unseal } from "@/lib/login/sealed-cookie.ts";
import { loginConfig } from "@/lib/login/config.ts";
import {
  associateOtp,
  confirmOtpEnrolment,
  mfaAuthenticators,
  regenerateRecoveryCodes,
  removeSecondFactor,
  SignInError,
  type OtpEnrolment,
  type Proof,
} from "@/lib/login/token-client.ts";

/**
 * Two-step verification from the account page, with the session's access token as bearer: its
 * state, an enrolment (the new secret waits in a sealed httpOnly cookie until a code confirms it),
 * turning it off and new recovery codes (both with a current code or the password).
 */

/** Long enough to find the phone and install an app; the server's pending factor gates nothing meanwhile. */
export const ENROLMENT_SECONDS = 600;
export const ENROLMENT_PATH = "/account/two-step-verification";

export function enrolmentCookieName(secure = loginConfig().secureCookies): string {
  return `${secure ? "__Secure-" : ""}account-mfa-enrolment`;
}

export type TwoStepStatus = { kind: "on"; authenticatorId: string } | { kind: "off" } | { kind: "unknown" };

/** Whether the user has a confirmed TOTP factor (Auth0's `GET /mfa/authenticators`). */
export async function twoStepStatus(accessToken: string): Promise<TwoStepStatus> {
  try {
    const otp = (await mfaAuthenticators(accessToken)).find((a) => a.type === "otp" && a.active);
    return otp ? { kind: "on", authenticatorId: otp.id } : { kind: "off" };
  } catch {
    return { kind: "unknown" };
  }
}

/** The enrolment cookie's attributes: httpOnly, only the account pages, SameSite=Strict. */
export function enrolmentCookieOptions(maxAge = ENROLMENT_SECONDS) {
  return { path: "/account", maxAge, httpOnly: true, sameSite: "strict", secure: loginConfig().secureCookies } as const;
}

/**
 * Starts an enrolment with the user's password (a session alone may not add a factor); the
 * sealed value keeps it for the enrolment page, for `holder` (the session's user, `sub`) only: on
 * a shared browser the next person to sign in must not find the last one's new secret.
 */
export async function startEnrolment(
  accessToken: string,
  holder: string,
  password: string,
  now = Date.now(),
): Promise<{ ok: true; sealed: string } | { ok: false; error: string }> {
  if (!password) return { ok: false, error: "missing_current" };
  try {
    const enrolment = await associateOtp(accessToken, password);
    return { ok: true, sealed: await seal("account-enrolment", { enrolment, holder }, ENROLMENT_SECONDS, now) };
  } catch (err) {
    // Here the one proof is the password: the account page's words for it.
    const reason = err instanceof SignInError ? err.reason : undefined;
    return { ok: false, error: reason === "invalid_code" ? "wrong_password" : reason === "too_many_attempts" ? "too_many_attempts" : codeOf(err) };
  }
}

/** The enrolment a sealed value keeps, if it is `holder`'s and has not expired. */
export async function openEnrolment(value: string | undefined, holder: string, now = Date.now()): Promise<OtpEnrolment | null> {
  const payload = await unseal("account-enrolment", value, now);
  if (payload?.holder !== holder) return null;
  return payload.enrolment && typeof payload.enrolment === "object" ? (payload.enrolment as OtpEnrolment) : null;
}

/**
 * What a two-step form led to: an error code (lib/login/account-page.ts words it), or done, with
 * the recovery codes to show once. Codes only go into the redirect's URL; the recovery codes
 * travel in a sealed cookie (recoveryCodesCookie below).
 */
export type AccountFormState = { error?: string; recoveryCodes?: string[]; done?: boolean };

function codeOf(err: unknown): string {
  const reason = err instanceof SignInError ? err.reason : "unreachable";
  if (reason === "invalid_code") return "wrong_code";
  if (reason === "code_required") return "code_required";
  if (reason === "mfa_expired") return "ended";
  if (reason === "too_many_attempts") return "too_many_codes";
  if (reason === "otp_locked") return "otp_locked";
  return "unavailable";
}

/** A current code confirms the enrolment; the recovery codes are then shown, once. */
export async function confirmEnrolment(accessToken: string, enrolment: OtpEnrolment | null, code: string): Promise<AccountFormState> {
  if (!enrolment) return { error: "enrolment_expired" };
  const otp = code.replace(/\s/g, "");
  if (!/^\d{6}$/.test(otp)) return { error: "code_format" };
  try {
    await confirmOtpEnrolment(accessToken, otp);
    return { recoveryCodes: enrolment.recoveryCodes, done: true };
  } catch (err) {
    return { error: codeOf(err) };
  }
}

/** Six digits are a code; anything else is taken for the password. */
export function proofOf(input: string): Proof | null {
  const compact = input.replace(/\s/g, "");
  if (!input) return null;
  return /^\d{6}$/.test(compact) ? { otp: compact } : { password: input };
}

export async function turnOff(accessToken: string, input: string): Promise<AccountFormState> {
  const proof = proofOf(input);
  if (!proof) return { error: "missing_proof" };
  const status = await twoStepStatus(accessToken);
  // Not known (the list failed): nothing was turned off, and the page must not say it was.
  if (status.kind === "unknown") return { error: "unavailable" };
  if (status.kind === "off") return { done: true };
  try {
    await removeSecondFactor(accessToken, proof);
    return { done: true };
  } catch (err) {
    return { error: codeOf(err) };
  }
}

export async function newRecoveryCodes(accessToken: string, input: string): Promise<AccountFormState> {
  const proof = proofOf(input);
  if (!proof) return { error: "missing_proof" };
  try {
    return { recoveryCodes: await regenerateRecoveryCodes(accessToken, proof), done: true };
  } catch (err) {
    return { error: codeOf(err) };
  }
}

/**
 * Recovery codes shown once after a redirect: sealed for a minute in an httpOnly cookie for
 * /account only. The proxy (lib/login/proxy.ts) takes it off the next page load of /account,
 * deleting it in the same response, and hands it to the page in a request header; so the codes
 * are in no URL, no page script can read them, and a reload does not show them again.
 */
export const RECOVERY_CODES_SECONDS = 60;
export const RECOVERY_CODES_HEADER = "x-account-recovery-codes";

export function recoveryCodesCookieName(secure = loginConfig().secureCookies): string {
  return `${secure ? "__Secure-" : ""}account-recovery-codes`;
}

/** New recovery codes sealed for one page load of `holder` (the session's user, `sub`), and nobody else's. */
export function sealRecoveryCodes(codes: readonly string[], holder: string, now = Date.now()): Promise<string> {
  return seal("account-recovery-codes", { codes, holder }, RECOVERY_CODES_SECONDS, now);
}

export async function openRecoveryCodes(value: string | null | undefined, holder: string, now = Date.now()): Promise<string[] | null> {
  const payload = await unseal("account-recovery-codes", value ?? undefined, now);
  if (payload?.holder !== holder) return null;
  const codes = payload.codes;
  return Array.isArray(codes) && codes.every((code) => typeof code === "string") ? codes : null;
}
