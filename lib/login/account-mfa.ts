import { seal, unseal } from "@/lib/login/sealed-cookie.ts";
import { loginConfig } from "@/lib/login/config.ts";
import { signInMessage } from "@/lib/login/messages.ts";
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

/** Starts an enrolment; the sealed value keeps it for the enrolment page. */
export async function startEnrolment(accessToken: string, now = Date.now()): Promise<{ ok: true; sealed: string } | { ok: false; error: string }> {
  try {
    const enrolment = await associateOtp(accessToken);
    return { ok: true, sealed: await seal("account-enrolment", { enrolment }, ENROLMENT_SECONDS, now) };
  } catch (err) {
    return { ok: false, error: messageOf(err) };
  }
}

export async function openEnrolment(value: string | undefined, now = Date.now()): Promise<OtpEnrolment | null> {
  const payload = await unseal("account-enrolment", value, now);
  return payload?.enrolment && typeof payload.enrolment === "object" ? (payload.enrolment as OtpEnrolment) : null;
}

/** What a form on the account page shows after its submit. */
export type AccountFormState = { error?: string; recoveryCodes?: string[]; done?: boolean };

function messageOf(err: unknown): string {
  const reason = err instanceof SignInError ? err.reason : "unreachable";
  if (reason === "invalid_code") return "That code or password didn't work. Please try again.";
  if (reason === "mfa_expired") return "Your session has ended. Please sign in again.";
  return signInMessage(reason);
}

/** A current code confirms the enrolment; the recovery codes are then shown, once. */
export async function confirmEnrolment(accessToken: string, enrolment: OtpEnrolment | null, code: string): Promise<AccountFormState> {
  if (!enrolment) return { error: "The setup took too long. Please start again." };
  const otp = code.replace(/\s/g, "");
  if (!/^\d{6}$/.test(otp)) return { error: "Enter the 6-digit code your authenticator app shows." };
  try {
    await confirmOtpEnrolment(accessToken, otp);
    return { recoveryCodes: enrolment.recoveryCodes, done: true };
  } catch (err) {
    return { error: messageOf(err) };
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
  if (!proof) return { error: "Enter a current code or your password." };
  const status = await twoStepStatus(accessToken);
  if (status.kind !== "on") return { done: true };
  try {
    await removeSecondFactor(accessToken, proof);
    return { done: true };
  } catch (err) {
    return { error: messageOf(err) };
  }
}

export async function newRecoveryCodes(accessToken: string, input: string): Promise<AccountFormState> {
  const proof = proofOf(input);
  if (!proof) return { error: "Enter a current code or your password." };
  try {
    return { recoveryCodes: await regenerateRecoveryCodes(accessToken, proof), done: true };
  } catch (err) {
    return { error: messageOf(err) };
  }
}
