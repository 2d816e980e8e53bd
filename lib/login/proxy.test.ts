import { describe, expect, it } from "vitest";
import { unstable_doesMiddlewareMatch } from "next/experimental/testing/server";
import { config } from "@/proxy.ts";
import { ROUTE_TABLE, routePaths } from "@/lib/oauth/routes.ts";

const runsFor = (path: string) => unstable_doesMiddlewareMatch({ config, url: `http://localhost:3000${path}` });

/**
 * Every path of the routes table, its parameters filled in. Next reads proxy.ts's matcher as a
 * literal at build time, so it cannot be built from the table: this holds the two together.
 */
const endpointPaths = Object.values(ROUTE_TABLE)
  .flatMap(routePaths)
  .map((path) =>
    path
      .replace("{tenant}", "demo")
      .replace("{workspace}", "default")
      .replace(/\{[a-zA-Z]+\}/g, "0191a3f2-7c1e-7000-8000-000000000001"),
  );

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
    "/account/two-step-verification",
  ])("runs for %s", (path) => {
    expect(runsFor(path)).toBe(true);
  });

  // No endpoint answers these: Next's 404 page does, and it gets the pages' CSP.
  it.each([
    "/demo/default/oauth2/nope",
    "/demo/default/oauth2/token/extra",
    "/demo/default/userinfo/extra",
    "/demo/default/mfa/nope",
    "/demo/default/account/nope",
    "/demo/default/account/sessions/1/2",
    "/demo/default/.well-known/nope",
    "/.well-known/openid-configuration/demo/default/extra",
  ])("runs for %s, under the authorization server's paths but none of its endpoints", (path) => {
    expect(runsFor(path)).toBe(true);
  });

  it.each(endpointPaths)("does not run for the endpoint %s", (path) => {
    expect(runsFor(path)).toBe(false);
  });

  it.each([
    "/other-tenant/other-workspace/oauth2/token",
    // Its own CSP (`default-src 'none'; sandbox`), which the proxy's would replace.
    "/login/logo",
    "/_next/static/chunks/main.js",
    "/_next/image?url=%2Fx.png&w=64&q=75",
    "/favicon.ico",
  ])("does not run for %s", (path) => {
    expect(runsFor(path)).toBe(false);
  });
});
