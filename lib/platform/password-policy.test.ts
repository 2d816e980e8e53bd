import { describe, expect, it } from "vitest";
import { normalizePassword, passwordViolation, publicPasswordPolicy } from "@/lib/platform/password-policy.ts";

const POLICY = { minLength: 8 };
const ALICE = { username: "alice", email: "alice.smith@example.com" };
const rule = async (password: string, policy = POLICY, owner: { username: string; email?: string | null } = ALICE) =>
  (await passwordViolation(password, policy, owner))?.rule ?? null;

describe("the password policy (ASVS 5.0 §6.2, NIST SP 800-63B)", () => {
  it.each([
    ["seven c", "too_short"],
    ["abcdefg", "too_short"],
    // Code points, not UTF-16 units: four emoji are four characters.
    ["😀😀😀😀", "too_short"],
    ["x".repeat(1025), "too_long"],
    ["correct horse", null],
    ["x".repeat(1024), null],
  ])("judges the length of %j: %s", async (password, expected) => {
    expect(await rule(password)).toBe(expected);
  });

  it("accepts 64 characters and more, whatever they are, with no composition rule", async () => {
    expect(await rule("a".repeat(30) + "b".repeat(34))).toBeNull();
    expect(await rule("only lowercase words here")).toBeNull();
    expect(await rule("   leading and trailing spaces   ")).toBeNull();
  });

  it("follows the workspace's minimum length", async () => {
    expect(await rule("fourteen chars", { minLength: 15 })).toBe("too_short");
    expect(await rule("fifteen chars!!", { minLength: 15 })).toBeNull();
    const violation = await passwordViolation("short", { minLength: 15 }, ALICE);
    expect(violation).toEqual({ rule: "too_short", description: "the password must have at least 15 characters" });
  });

  it.each(["password", "12345678", "iloveyou", "sunshine1", "PassWord", "QWERTYUIOP", "trustno1"])(
    "refuses %j, a common password, in any case",
    async (password) => {
      expect(await passwordViolation(password, POLICY, ALICE)).toEqual({
        rule: "common",
        description: "the password is too common: it is on a list of frequently used passwords",
      });
    },
  );

  it("checks against at least the 10,000 most common passwords, bundled", async () => {
    const { dictionary } = await import("@zxcvbn-ts/language-common");
    const list = dictionary["passwords-common"].filter((p) => p.length >= 8);
    expect(dictionary["passwords-common"].length).toBeGreaterThanOrEqual(10_000);
    // One from deep in the list: the whole list is used, not a head of it.
    expect(await rule(list[list.length - 1]!)).toBe("common");
  });

  it.each([
    ["alice123!", "contains_username"],
    ["ALICE-2024", "contains_username"],
    ["xxAlIcExx", "contains_username"],
    ["alice.smith@example.com", "contains_email"],
    ["alice.smith!!", "contains_email"],
    // What is left without the username is a password on its own.
    ["alice-walks-the-dog", null],
    ["alice-password-1", null],
  ])("judges %j against the username and the email: %s", async (password, expected) => {
    expect(await rule(password)).toBe(expected);
  });

  it("does not search a password for identifiers under 3 characters", async () => {
    expect(await rule("al-is-a-b", POLICY, { username: "al", email: "a@b.c" })).toBeNull();
  });

  it("compares NFKC forms: full-width letters and composed accents count as their plain forms", async () => {
    // Full-width "ｐａｓｓｗｏｒｄ" is "password" under NFKC.
    expect(await rule("ｐａｓｓｗｏｒｄ")).toBe("common");
    expect(await rule("ｚｏｅ12345", POLICY, { username: "zoe" })).toBe("contains_username");
    // "é" typed as e + U+0301 is one character once composed: 8 code points typed, 7 characters.
    expect(await rule("cafe\u0301-ab")).toBe("too_short");
    expect(normalizePassword("cafe\u0301")).toBe("café");
  });

  it("publishes its rules, not its list", () => {
    expect(publicPasswordPolicy({ minLength: 15 })).toEqual({ min_length: 15, max_length: 1024, rejects: ["common", "username", "email"] });
  });
});
