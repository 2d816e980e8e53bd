import { describe, expect, it } from "vitest";
import { unstable_doesMiddlewareMatch } from "next/experimental/testing/server";
import { config } from "@/proxy.ts";

const runsFor = (path: string) => unstable_doesMiddlewareMatch({ config, url: `http://localhost:3000${path}` });

describe("proxy.ts runs before every page, never before the authorization server", () => {
  it.each([
    "/",
    "/login",
    "/login?callbackUrl=%2Faccount",
    "/account",
    "/account/x",
    "/api/auth/session",
    "/api/auth/callback/credentials",
    "/no-such-page",
    "/a/b",
    "/a/b/c/d",
    "/demo/default",
    "/demo/default/oauth2",
    "/account",
    "/account/two-step-verification",
  ])("runs for %s", (path) => {
    expect(runsFor(path)).toBe(true);
  });

  it.each([
    "/demo/default/oauth2/token",
    "/demo/default/oauth2/revoke",
    "/demo/default/oauth2/introspect",
    "/demo/default/userinfo",
    "/demo/default/account/sessions",
    "/demo/default/account/sessions/0b0e4a36-7c1f-4a59-9d56-6a35a1c8e0f1",
    "/demo/default/.well-known/openid-configuration",
    "/demo/default/.well-known/jwks.json",
    "/.well-known/oauth-authorization-server/demo/default",
    "/.well-known/openid-configuration/demo/default",
    "/other-tenant/other-workspace/oauth2/token",
    "/_next/static/chunks/main.js",
    "/_next/image?url=%2Fx.png&w=64&q=75",
    "/favicon.ico",
  ])("does not run for %s", (path) => {
    expect(runsFor(path)).toBe(false);
  });
});
