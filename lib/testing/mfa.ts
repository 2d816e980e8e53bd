import { expect } from "vitest";
import { DEMO } from "../../prisma/seed.ts";
import { timeStep, totpCodeAt } from "@/lib/oauth/mfa/totp.ts";
import { postToken, SPA } from "@/lib/testing/oauth.ts";

export const DAVE = { username: "dave", password: "dave-password-1" };
export const DAVE_SECRET = DEMO.dave.totpSecret;
export const DAVE_RECOVERY_CODES = DEMO.dave.recoveryCodes;

export const MFA_OTP = "http://auth0.com/oauth/grant-type/mfa-otp";
export const MFA_RECOVERY_CODE = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

/** The TOTP code of a secret at an instant (ms), computed as an authenticator app would. */
export function codeAt(secret: string, nowMs: number = Date.now()): string {
  return totpCodeAt(secret, timeStep(nowMs));
}

/** Dave's (or another MFA user's) password step: the mfa_token of the 403 mfa_required answer. */
export async function mfaTokenFor(fields: Record<string, string> = { ...SPA, ...DAVE }, headers: Record<string, string> = {}): Promise<string> {
  const res = await postToken({ grant_type: "password", ...fields }, headers);
  const body = (await res.json()) as { error?: string; mfa_token?: string };
  expect(res.status, JSON.stringify(body)).toBe(403);
  expect(body.error).toBe("mfa_required");
  return body.mfa_token ?? "";
}
