import { timingSafeEqual } from "node:crypto";
import { HOTP, Secret, TOTP } from "otpauth";

// RFC 6238 as every authenticator app reads it: HMAC-SHA-1, 6 digits, 30-second steps.
const ALGORITHM = "SHA1";
const DIGITS = 6;
const PERIOD_SECONDS = 30;
/** Steps of clock drift accepted either side of the current one (RFC 6238 §5.2). */
const DRIFT_STEPS = 1;

/** A new TOTP secret, base32: 160 bits (RFC 4226 §4's recommended length) from the CSPRNG. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The `otpauth://totp/…` URI an authenticator app reads from a QR code (Google's key URI format). */
export function totpUri(secret: string, issuer: string, account: string): string {
  return new TOTP({ issuer, label: account, secret: Secret.fromBase32(secret), algorithm: ALGORITHM, digits: DIGITS, period: PERIOD_SECONDS }).toString();
}

/** The time step of an instant (ms). */
export function timeStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / PERIOD_SECONDS);
}

/** The code of a secret at a time step. */
export function totpCodeAt(secret: string, step: number): string {
  return HOTP.generate({ secret: Secret.fromBase32(secret), algorithm: ALGORITHM, digits: DIGITS, counter: step });
}

/**
 * The time step whose code `code` is, within the drift window around `nowMs`, or null. Every step
 * of the window is computed and compared in constant time, with no early exit, so the time taken
 * does not tell whether (or where) a code was close.
 */
export function matchingStep(secret: string, code: string, nowMs: number): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const current = timeStep(nowMs);
  let matched: number | null = null;
  for (let step = current - DRIFT_STEPS; step <= current + DRIFT_STEPS; step += 1) {
    const equal = timingSafeEqual(Buffer.from(code), Buffer.from(totpCodeAt(secret, step)));
    if (equal && matched === null) matched = step;
  }
  return matched;
}
