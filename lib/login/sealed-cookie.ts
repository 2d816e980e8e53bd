import { hkdfSync } from "node:crypto";
import { EncryptJWT, jwtDecrypt } from "jose";
import { loginConfig } from "@/lib/login/config.ts";

/**
 * Short-lived state of the login app that must outlive one request but never reach page script:
 * the `mfa_token` of a sign-in waiting for its second factor, an enrolment waiting for its first
 * code, recovery codes on their way to the one page load that shows them. Sealed as a JWE (`dir`, A256GCM) under a key derived from NEXTAUTH_SECRET for one purpose,
 * so a cookie sealed for one purpose cannot be replayed as another, and held in an httpOnly cookie.
 */
export type SealedPurpose = "mfa-step" | "account-enrolment" | "account-recovery-codes";

const keys = new Map<string, Uint8Array>();

function keyFor(purpose: SealedPurpose): Uint8Array {
  const secret = loginConfig().nextAuthSecret;
  const id = `${purpose}\0${secret}`;
  let key = keys.get(id);
  if (!key) {
    // RFC 5869: one key per purpose, none of them next-auth's own session key.
    key = new Uint8Array(hkdfSync("sha256", secret, "", `ropc-login-kit sealed cookie: ${purpose}`, 32));
    keys.clear();
    keys.set(id, key);
  }
  return key;
}

export async function seal(purpose: SealedPurpose, payload: Record<string, unknown>, seconds: number, now = Date.now()): Promise<string> {
  const iat = Math.floor(now / 1000);
  return new EncryptJWT({ ...payload, purpose })
    .setProtectedHeader({ alg: "dir", enc: "A256GCM" })
    .setIssuedAt(iat)
    .setExpirationTime(iat + seconds)
    .encrypt(keyFor(purpose));
}

/** The payload of a sealed value, or null when it is missing, tampered with, expired or of another purpose. */
export async function unseal(purpose: SealedPurpose, value: string | undefined, now = Date.now()): Promise<Record<string, unknown> | null> {
  if (!value) return null;
  try {
    const { payload } = await jwtDecrypt(value, keyFor(purpose), { currentDate: new Date(now), clockTolerance: 0 });
    return payload.purpose === purpose ? payload : null;
  } catch {
    return null;
  }
}

export interface CookieOptions {
  name: string;
  path: string;
  /** Seconds; 0 deletes the cookie. */
  maxAge: number;
}

/** A Set-Cookie header value: httpOnly, SameSite=Strict (only this site's own pages send it), Secure over https. */
export function setCookieHeader({ name, path, maxAge }: CookieOptions, value: string): string {
  const secure = loginConfig().secureCookies ? "; Secure" : "";
  return `${name}=${maxAge > 0 ? value : ""}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure}`;
}
