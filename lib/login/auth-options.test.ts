import { describe, expect, it } from "vitest";
import { safeCallbackPath } from "@/lib/login/auth-options.ts";
import { signInMessage } from "@/lib/login/messages.ts";

const ORIGIN = "http://localhost:3000";

describe("safeCallbackPath: a callbackUrl is honoured only on this origin", () => {
  it.each([
    ["/account", "/account"],
    ["/account?tab=tokens#top", "/account?tab=tokens#top"],
    [`${ORIGIN}/account`, "/account"],
    ["https://evil.example/steal", "/account"],
    ["//evil.example/steal", "/account"],
    ["/\\evil.example", "/account"],
    ["http://localhost:3001/account", "/account"],
    ["javascript:alert(1)", "/account"],
    [undefined, "/account"],
    ["", "/account"],
  ])("%j → %j", (url, expected) => {
    expect(safeCallbackPath(url, ORIGIN)).toBe(expected);
  });
});

describe("signInMessage", () => {
  it("says the same for every credential failure", () => {
    expect(signInMessage("invalid_credentials")).toBe("Invalid username or password");
    expect(signInMessage("CredentialsSignin")).toBe("Invalid username or password");
  });

  it("has its own messages for too many attempts and an unreachable server", () => {
    expect(signInMessage("too_many_attempts")).toMatch(/^Too many sign-in attempts/);
    expect(signInMessage("unreachable")).toMatch(/cannot be reached/);
  });

  it.each(["refused", "toString", "__proto__", "weird", null])("falls back to a generic message for %j", (code) => {
    expect(signInMessage(code)).toBe("Sign-in is not available right now. Please try again later.");
  });
});
