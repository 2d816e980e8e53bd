// proxy.ts's matcher, compiled as Next compiles it: which paths the login app's proxy (the pages'
// CSP and HSTS, the session check) runs on. Next reads the matcher as a literal at build time, so
// it cannot be built from the routes table; this test holds the two together.
import { describe, expect, it } from "vitest";
// @ts-expect-error Next's own compiler of `config.matcher` (no types are published for it).
import { getMiddlewareMatchers } from "next/dist/build/analysis/get-page-static-info";
import { config } from "@/proxy.ts";
import { ROUTE_TABLE, routePaths } from "@/lib/oauth/routes.ts";

const matchers = (getMiddlewareMatchers(config.matcher, { i18n: null }) as Array<{ regexp: string }>).map(({ regexp }) => new RegExp(regexp));
const proxied = (path: string) => matchers.some((matcher) => matcher.test(path));

/** Every path of the routes table, its parameters filled in. */
const endpointPaths = Object.values(ROUTE_TABLE)
  .flatMap(routePaths)
  .map((path) =>
    path
      .replace("{tenant}", "demo")
      .replace("{workspace}", "default")
      .replace(/\{[a-zA-Z]+\}/g, "0191a3f2-7c1e-7000-8000-000000000001"),
  );

describe("the login app's proxy", () => {
  it.each(endpointPaths)("leaves the authorization server's %s alone", (path) => {
    expect(proxied(path)).toBe(false);
  });

  it.each([
    "/demo/default/oauth2/nope",
    "/demo/default/oauth2/token/extra",
    "/demo/default/userinfo/extra",
    "/demo/default/mfa/nope",
    "/demo/default/account/nope",
    "/demo/default/account/sessions/1/2",
    "/demo/default/.well-known/nope",
    "/.well-known/openid-configuration/demo/default/extra",
  ])("runs on %s, which no endpoint answers: its 404 page gets the pages' CSP", (path) => {
    expect(proxied(path)).toBe(true);
  });

  it.each(["/", "/login", "/account", "/account/two-step-verification", "/no-such-page", "/api/auth/session", "/demo/default"])(
    "runs on the page %s",
    (path) => {
      expect(proxied(path)).toBe(true);
    },
  );

  it.each(["/login/logo", "/_next/static/chunks/main.js", "/favicon.ico"])("leaves %s alone (it sets its own headers, or is a static file)", (path) => {
    expect(proxied(path)).toBe(false);
  });
});
