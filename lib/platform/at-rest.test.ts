import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { isSealed, open, seal, SealedValueError } from "@/lib/platform/at-rest.ts";
import { parseKeyEncryptionKey } from "@/lib/platform/key-encryption-key.ts";
import { withCharChanged } from "@/lib/testing/tamper.ts";

const key = randomBytes(32);
const other = randomBytes(32);

describe("secrets sealed at rest", () => {
  it("seals with AES-256-GCM under the key and opens back, each time with a new IV", () => {
    const a = seal("private part", "SigningKey:k1", key);
    const b = seal("private part", "SigningKey:k1", key);
    expect(a).toMatch(/^sealed:v1:[\w-]{8}:[\w-]{16}:[\w-]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain("private part");
    expect(open(a, "SigningKey:k1", key)).toBe("private part");
    expect(isSealed(a)).toBe(true);
  });

  it("leaves values as they are without a key, and reads plain values written before the key was set", () => {
    expect(seal("plain", "ServerSecret:x", null)).toBe("plain");
    expect(open("plain", "ServerSecret:x", key)).toBe("plain");
    expect(isSealed("plain")).toBe(false);
  });

  it.each([
    ["without the key", null, "SigningKey:k1", /is sealed, and KEY_ENCRYPTION_KEY is not set/],
    ["with another key", other, "SigningKey:k1", /was sealed with another KEY_ENCRYPTION_KEY/],
    ["moved to another row", key, "SigningKey:k2", /does not open with KEY_ENCRYPTION_KEY: it was altered, or sealed for another row/],
  ])("refuses to open a sealed value %s, saying so", (_, withKey, context, message) => {
    const sealed = seal("private part", "SigningKey:k1", key);
    expect(() => open(sealed, context, withKey)).toThrow(SealedValueError);
    expect(() => open(sealed, context, withKey)).toThrow(message);
  });

  it("refuses an altered value", () => {
    const sealed = seal("private part", "SigningKey:k1", key);
    expect(() => open(withCharChanged(sealed, -2), "SigningKey:k1", key)).toThrow(/was altered/);
  });

  it("takes KEY_ENCRYPTION_KEY as 32 bytes of base64 or base64url, and nothing else", () => {
    const bytes = randomBytes(32);
    expect(parseKeyEncryptionKey(bytes.toString("base64"))).toEqual(bytes);
    expect(parseKeyEncryptionKey(bytes.toString("base64url"))).toEqual(bytes);
    for (const bad of ["", "short", randomBytes(16).toString("base64"), randomBytes(48).toString("base64"), "x".repeat(44)]) {
      expect(parseKeyEncryptionKey(bad)).toBeNull();
    }
  });
});
