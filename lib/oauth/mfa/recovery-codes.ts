import { createHash, randomBytes } from "node:crypto";
import { Secret } from "otpauth";

/** How many recovery codes an enrolment (or a regeneration) gives. */
export const RECOVERY_CODE_COUNT = 10;

/**
 * Ten new recovery codes, each 80 bits from the CSPRNG written as 16 base32 characters in groups
 * of four (`ABCD-EFGH-IJKL-MNOP`), at least the 64 bits ASVS 5.0 §6.5 asks for.
 */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const text = new Secret({ buffer: new Uint8Array(randomBytes(10)).buffer }).base32;
    return [0, 4, 8, 12].map((i) => text.slice(i, i + 4)).join("-");
  });
}

/** What a code is compared as: letters in upper case, without the dashes or spaces one may type. */
export function normaliseRecoveryCode(code: string): string {
  return code.replace(/[\s-]/g, "").toUpperCase();
}

/**
 * The stored form of a recovery code: SHA-256 of its normalised text. A fast hash is enough here
 * (unlike for passwords): with 80 random bits no guess list exists to try, so slowing each guess
 * down adds nothing. The code is looked up by its hash, so no comparison of its text can leak
 * timing either.
 */
export function recoveryCodeHash(code: string): string {
  return createHash("sha256").update(normaliseRecoveryCode(code), "utf8").digest("base64url");
}
