import { describe, expect, it } from "vitest";
import { settings } from "@/lib/platform/env.ts";
import { cancelSignInStep, destinationAfter } from "@/lib/login/form-sign-in.ts";
import { mfaStepCookieName } from "@/lib/login/mfa-sign-in.ts";

const APP = "http://127.0.0.1:3100";

describe("destinationAfter", () => {
  it.each([
    [`${APP}/account?from=x`, "/account?from=x"],
    ["https://evil.example/account", "/login?error=refused&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=invalid_credentials`, "/login?error=invalid_credentials&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=mfa_step`, "/login?callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=mfa_expired`, "/login?reason=mfa_expired&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=otp_locked`, "/login?method=recovery-code&error=otp_locked&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/signin?csrf=true`, "/login?error=refused&callbackUrl=%2Faccount"],
    [null, "/login?error=refused&callbackUrl=%2Faccount"],
  ])("%s → %s", (location, expected) => {
    expect(destinationAfter(location, "/account", APP)).toBe(expected);
  });

  // Sent from the recovery code's form: back to it, saying what went wrong with a recovery code.
  it.each([
    [`${APP}/api/auth/error?error=invalid_code`, "/login?method=recovery-code&error=invalid_recovery_code&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=too_many_attempts%3A1800000000`, "/login?method=recovery-code&error=too_many_attempts%3A1800000000&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=unreachable`, "/login?method=recovery-code&error=unreachable&callbackUrl=%2Faccount"],
    [`${APP}/api/auth/error?error=mfa_expired`, "/login?reason=mfa_expired&callbackUrl=%2Faccount"],
    [`${APP}/account`, "/account"],
  ])("from the recovery code's form, %s → %s", (location, expected) => {
    expect(destinationAfter(location, "/account", APP, { recoveryCode: true })).toBe(expected);
  });
});

describe("cancelSignInStep (POST /login/cancel)", () => {
  const cancel = (headers: Record<string, string>, callbackUrl = "/account?notice=x") =>
    cancelSignInStep(
      new Request(`${settings().APP_URL}/login/cancel`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams({ callbackUrl }),
      }),
    );
  const step = mfaStepCookieName();

  it("deletes the step's cookie and each of its chunks, then sends the browser to the password form", async () => {
    const res = await cancel({ origin: "null", "sec-fetch-site": "same-origin", cookie: `${step}.0=a; ${step}.1=b; other=c` });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login?callbackUrl=%2Faccount%3Fnotice%3Dx");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf(";")))).toEqual([`${step}=`, `${step}.0=`, `${step}.1=`]);
    expect(res.headers.getSetCookie().every((c) => c.includes("; Max-Age=0;"))).toBe(true);
  });

  it("keeps the way back on this site", async () => {
    const res = await cancel({ origin: new URL(settings().APP_URL).origin }, "https://evil.example/account");
    expect(res.headers.get("location")).toBe("/login?callbackUrl=%2Faccount");
  });

  it("refuses a form from another site (403), deleting nothing", async () => {
    const res = await cancel({ origin: "https://evil.example", cookie: `${step}=a` });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });
});
