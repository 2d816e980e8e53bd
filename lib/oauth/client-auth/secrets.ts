import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Client secrets are stored as salted SHA-256, not argon2: the secrets we issue carry 256 bits of
 * randomness, so a slow hash adds nothing but ~15 ms of CPU to every authenticated request.
 * Format: `sha256$<salt, base64url>$<digest, base64url>`.
 */
export function hashClientSecret(secret: string, salt: Buffer = randomBytes(16)): string {
  return `sha256$${salt.toString("base64url")}$${digest(salt, secret).toString("base64url")}`;
}

/** Compares in constant time; false for any malformed stored value. */
export function verifyClientSecret(stored: string, presented: string): boolean {
  const [scheme, salt, expected] = stored.split("$");
  if (scheme !== "sha256" || !salt || !expected) return false;
  const want = Buffer.from(expected, "base64url");
  const got = digest(Buffer.from(salt, "base64url"), presented);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** A new secret to hand to a client once: 256 bits, base64url. */
export function generateClientSecret(): string {
  return randomBytes(32).toString("base64url");
}

function digest(salt: Buffer, secret: string): Buffer {
  return createHash("sha256").update(salt).update(secret, "utf8").digest();
}
