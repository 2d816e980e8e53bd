import { afterEach, describe, expect, it, vi } from "vitest";
import { logger } from "@/lib/platform/logger.ts";
import { authOptions, nextAuthLogger } from "@/lib/login/auth-options.ts";
import { safeCallbackPath, validatedCallbackPath } from "@/lib/login/callback-url.ts";
import { signInMessage } from "@/lib/login/messages.ts";

const ORIGIN = "http://localhost:3000";

describe("safeCallbackPath: a callbackUrl is honoured only on this origin", () => {
  it.each([
    ["/account", "/account"],
    ["/account?tab=tokens#top", "/account?tab=tokens#top"],
    [`${ORIGIN}/account`, "/account"],
    ["/a/b/../account", "/a/account"],
    // A slash encoded inside a segment is no network path.
    ["/account/a%2Fb", "/account/a%2Fb"],
    [undefined, "/account"],
    ["", "/account"],
  ])("keeps %j as %j", (url, expected) => {
    expect(safeCallbackPath(url, ORIGIN)).toBe(expected);
  });

  it.each([
    "https://evil.example/steal",
    "//evil.example/steal",
    "//evil",
    "/\\evil",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil",
    "http://localhost:3001/account",
    "javascript:",
    "javascript:alert(1)",
    // Same origin, but the path normalises to `//evil.example`: the browser would go there.
    "/.//evil.example",
    "/a/..//evil.example",
    "/account/%2e%2e//evil.example",
    `${ORIGIN}//evil.example`,
    `${ORIGIN}/\\evil.example`,
    // Percent-encoded, once or twice: a router that decodes the path would go there.
    "%2F%2Fevil.example",
    "/%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "/%252F%252Fevil.example",
    "/%09/evil.example",
    "/%E0%A4%A",
    // Tabs and newlines, which URL parsers drop.
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    `${ORIGIN}/\t/evil.example`,
  ])("refuses %j (→ /account)", (url) => {
    expect(safeCallbackPath(url, ORIGIN)).toBe("/account");
  });

  it("is what next-auth's redirect callback answers with, on this app's origin", async () => {
    const redirect = authOptions().callbacks!.redirect!;
    expect(await redirect({ url: "/.//evil.example", baseUrl: ORIGIN })).toBe(`${ORIGIN}/account`);
    expect(await redirect({ url: "/account?from=test", baseUrl: ORIGIN })).toBe(`${ORIGIN}/account?from=test`);
  });
});

describe("validatedCallbackPath: where the login form goes after a sign-in", () => {
  it.each([
    [`${ORIGIN}/account?from=test`, "/account?from=test"],
    [`${ORIGIN}//evil.example`, "/account"],
    [`${ORIGIN}/%2F%2Fevil.example`, "/account"],
    ["https://evil.example/", "/"],
    ["javascript:alert(1)", "/account"],
    ["not a url", "/account"],
    [null, "/account"],
    [undefined, "/account"],
  ])("%j → %j", (url, expected) => {
    expect(validatedCallbackPath(url)).toBe(expected);
  });
});

describe("next-auth's logger is the app's", () => {
  afterEach(() => vi.restoreAllMocks());

  it("is the one the options hand to next-auth", () => {
    expect(authOptions().logger).toBe(nextAuthLogger);
  });

  it("logs an error as one event, without its stack", () => {
    const error = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    nextAuthLogger.error("SIGNIN_EMAIL_ERROR", { error: new TypeError("boom"), providerId: "x" });
    // As jose's errors arrive from the minified server bundle: no name, a code.
    const minified = Object.assign(new Error("Invalid Initialization Vector length"), { name: "", code: "ERR_JWE_INVALID" });
    nextAuthLogger.error("CLIENT_FETCH_ERROR", minified);
    expect(error.mock.calls).toEqual([
      [{ event: "nextauth.error", code: "SIGNIN_EMAIL_ERROR", error: { name: "TypeError", message: "boom" } }, "next-auth error"],
      [
        { event: "nextauth.error", code: "CLIENT_FETCH_ERROR", error: { code: "ERR_JWE_INVALID", message: "Invalid Initialization Vector length" } },
        "next-auth error",
      ],
    ]);
  });

  // Anyone can send GET /api/auth/session a cookie that does not open: at error level, each such
  // request raised the server's alarms.
  it("logs a session cookie that does not open as a warning (the browser's, not the server's error)", () => {
    const error = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    const err = new Error("decryption operation failed");
    err.name = "JWEDecryptionFailed";
    nextAuthLogger.error("JWT_SESSION_ERROR", err);
    nextAuthLogger.error("JWT_SESSION_ERROR", Object.assign(new Error("Invalid Compact JWE"), { name: "", code: "ERR_JWE_INVALID" }));
    expect(error).not.toHaveBeenCalled();
    expect(warn.mock.calls).toEqual([
      [
        { event: "nextauth.session_refused", code: "JWT_SESSION_ERROR", error: { name: "JWEDecryptionFailed", message: "decryption operation failed" } },
        "a session cookie that does not open was ignored",
      ],
      [
        { event: "nextauth.session_refused", code: "JWT_SESSION_ERROR", error: { code: "ERR_JWE_INVALID", message: "Invalid Compact JWE" } },
        "a session cookie that does not open was ignored",
      ],
    ]);
  });

  it("logs warnings and debug events by their code only", () => {
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    const debug = vi.spyOn(logger, "debug").mockImplementation(() => undefined);
    nextAuthLogger.warn("NEXTAUTH_URL");
    nextAuthLogger.debug("GET_AUTHORIZATION_URL", { url: "https://x.example/?token=secret" });
    expect(warn.mock.calls).toEqual([[{ event: "nextauth.warn", code: "NEXTAUTH_URL" }, "next-auth warning"]]);
    expect(debug.mock.calls).toEqual([[{ event: "nextauth.debug", code: "GET_AUTHORIZATION_URL", error: {} }, "next-auth debug"]]);
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
