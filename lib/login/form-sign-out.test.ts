import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NextRequest } from "next/server";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import type * as AuthRouteModule from "@/lib/login/auth-route.ts";
import { SIGN_OUT_FAILED_PATH } from "@/lib/login/auth-route.ts";
import { formSignOut, SIGNED_OUT_PATH } from "@/lib/login/form-sign-in.ts";

// formSignOut's answer to what next-auth's sign-out answered it. next-auth itself is run by the
// browser tests (e2e/account.spec.ts, with and without script); here it is replaced, so that the
// answers it gives only when something is wrong can be given on purpose.
const nextAuth = vi.hoisted(() => ({ signOut: (): Response => new Response(null, { status: 500 }), requests: [] as Request[] }));
vi.mock("next-auth", () => ({
  default: () => Response.json({ csrfToken: "csrf-token-1" }, { headers: { "Set-Cookie": "next-auth.csrf-token=csrf-token-1%7Chash; Path=/; HttpOnly" } }),
}));
vi.mock("next/headers", () => ({ cookies: () => Promise.resolve({ set: () => undefined }) }));
vi.mock("@/lib/login/auth-route.ts", async (original) => ({
  ...(await original<typeof AuthRouteModule>()),
  authRoute: (req: Request) => {
    nextAuth.requests.push(req);
    return Promise.resolve(nextAuth.signOut());
  },
}));

const app = () => settings().APP_URL;
const signOut = () =>
  formSignOut(
    new NextRequest(`${app()}/account/sign-out`, {
      method: "POST",
      headers: { origin: "null", "sec-fetch-site": "same-origin", cookie: "next-auth.session-token=sealed" },
    }),
  );

beforeEach(() => {
  nextAuth.requests.length = 0;
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe("formSignOut (POST /account/sign-out)", () => {
  it("passes on next-auth's sign-out: its cookies, then a 303 to the sign-in form", async () => {
    const deletion = "next-auth.session-token=; Path=/; Max-Age=0; HttpOnly";
    nextAuth.signOut = () => new Response(null, { status: 302, headers: { Location: new URL(SIGNED_OUT_PATH, app()).href, "Set-Cookie": deletion } });
    const res = await signOut();
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login?reason=signed_out");
    expect(res.headers.getSetCookie()).toEqual([deletion]);
    const [sent] = nextAuth.requests;
    expect(new URL(sent!.url).pathname).toBe("/api/auth/signout");
    expect(sent!.headers.get("cookie")).toBe("next-auth.session-token=sealed");
    expect(Object.fromEntries(new URLSearchParams(await sent!.text()))).toEqual({ csrfToken: "csrf-token-1", callbackUrl: SIGNED_OUT_PATH });
  });

  it.each([
    ["its CSRF check refused (its sign-out page)", () => new Response("<html>", { status: 200 })],
    ["a failure", () => new Response(null, { status: 500 })],
    ["a redirect elsewhere", () => new Response(null, { status: 302, headers: { Location: `${app()}/api/auth/error?error=x` } })],
  ])("says it could not sign out when next-auth did not: %s", async (_name, answer) => {
    nextAuth.signOut = () => {
      const res = answer();
      res.headers.append("Set-Cookie", "next-auth.session-token=; Path=/; Max-Age=0");
      return res;
    };
    const error = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    const res = await signOut();
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/account?error=sign_out_failed&form=sign_out");
    expect(res.headers.get("cache-control")).toBe("no-store");
    // Nothing of next-auth's answer reaches the browser: the page must not look signed out.
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(error).toHaveBeenCalledWith(expect.objectContaining({ event: "logout.failed" }), "next-auth did not sign the session out");
  });

  it("says it could not sign out when the issuer did not revoke the session (the route's own redirect, warned of where it was asked)", async () => {
    nextAuth.signOut = () => new Response(null, { status: 302, headers: { Location: new URL(SIGN_OUT_FAILED_PATH, app()).href } });
    const error = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    const res = await signOut();
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/account?error=sign_out_failed&form=sign_out");
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(error).not.toHaveBeenCalled();
  });

  it("refuses a form from another site (403) without asking next-auth", async () => {
    const res = await formSignOut(new NextRequest(`${app()}/account/sign-out`, { method: "POST", headers: { origin: "https://evil.example" } }));
    expect(res.status).toBe(403);
    expect(nextAuth.requests).toEqual([]);
  });
});
