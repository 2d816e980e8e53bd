import { describe, expect, it } from "vitest";
import { destinationAfter, isSameOriginPost } from "@/lib/login/form-sign-in.ts";

const APP = "http://127.0.0.1:3100";

describe("isSameOriginPost", () => {
  it.each([
    [{ origin: APP }, true],
    [{ origin: "https://evil.example" }, false],
    [{ origin: "https://evil.example", "sec-fetch-site": "same-origin" }, false],
    [{ origin: "null", "sec-fetch-site": "same-origin" }, true],
    [{ origin: "null", "sec-fetch-site": "cross-site" }, false],
    [{ "sec-fetch-site": "same-site" }, false],
    [{}, false],
  ])("%o → %s", (headers, expected) => {
    expect(isSameOriginPost(new Request(`${APP}/login/submit`, { method: "POST", headers }), APP)).toBe(expected);
  });
});

describe("destinationAfter", () => {
  it.each([
    [`${APP}/account?from=x`, "/account?from=x"],
    ["https://evil.example/account", "/login?error=refused&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=invalid_credentials`, "/login?error=invalid_credentials&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=mfa_step`, "/login?callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=mfa_expired`, "/login?reason=mfa_expired&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/signin?csrf=true`, "/login?error=refused&callbackUrl=%2Faccount"],
    [null, "/login?error=refused&callbackUrl=%2Faccount"],
  ])("%s → %s", (location, expected) => {
    expect(destinationAfter(location, "/account", APP)).toBe(expected);
  });
});
