import { hash } from "@node-rs/argon2";
import { describe, expect, it } from "vitest";
import { hashPassword, PASSWORD_HASH_OPTIONS, passwordVerifier } from "@/lib/platform/passwords.ts";

const composed = "caf\u00e9 au lait, s'il vous pla\u00eet";
const decomposed = composed.normalize("NFD");
const fullWidth = "\uff50\uff41\uff53\uff53-phrase-1"; // "ｐａｓｓ-phrase-1", "pass-phrase-1" under NFKC

describe("passwords are hashed and verified in their NFKC form", () => {
  it("verifies a password however its characters were composed when it was set and when it is typed", async () => {
    const stored = await hashPassword(decomposed);
    expect(await passwordVerifier.verify(stored, composed)).toBe(true);
    expect(await passwordVerifier.verify(stored, decomposed)).toBe(true);
    expect(await passwordVerifier.verify(await hashPassword(fullWidth), "pass-phrase-1")).toBe(true);
    expect(await passwordVerifier.verify(stored, "cafe au lait, s'il vous plait")).toBe(false);
  });

  it("still lets in a user whose hash was made of the password as typed, before normalisation", async () => {
    const legacy = await hash(decomposed, PASSWORD_HASH_OPTIONS);
    expect(await passwordVerifier.verify(legacy, decomposed)).toBe(true);
    const legacyWide = await hash(fullWidth, PASSWORD_HASH_OPTIONS);
    expect(await passwordVerifier.verify(legacyWide, fullWidth)).toBe(true);
    expect(await passwordVerifier.verify(legacyWide, "pass-phrase-2")).toBe(false);
  });
});
