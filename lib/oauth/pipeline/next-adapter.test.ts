import { describe, expect, it } from "vitest";
import { routes } from "@/lib/oauth/routes.ts";
import { ISSUER, routeContext, signIn } from "@/lib/testing/oauth.ts";

// Next implements HEAD for every route file that exports GET by calling the GET handler with the
// HEAD request as it is (its route modules' autoImplementMethods); `npm run dev` serves the
// authorization server that way. It must answer as the production server does (node-adapter.ts):
// as a GET.
const head = (route: (typeof routes)[keyof typeof routes], url: string, headers: Record<string, string> = {}) =>
  route.GET(new Request(url, { method: "HEAD", headers }), routeContext());

describe("a HEAD as Next hands it to a route's GET handler", () => {
  it("is answered as a GET: the JWKS", async () => {
    const get = await routes.jwks.GET(new Request(`${ISSUER}/.well-known/jwks.json`), routeContext());
    const res = await head(routes.jwks, `${ISSUER}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(get.headers.get("content-type"));
    expect(res.headers.get("cache-control")).toBe(get.headers.get("cache-control"));
  });

  it("is answered as a GET: userinfo with its access token", async () => {
    const { access_token } = await signIn();
    const res = await head(routes.userinfo, `${ISSUER}/userinfo`, { Authorization: `Bearer ${access_token}` });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });

  it("at a route without GET: 405 naming the methods it has, as a GET gets", async () => {
    const get = await routes.token.GET(new Request(`${ISSUER}/oauth2/token`), routeContext());
    const res = await head(routes.token, `${ISSUER}/oauth2/token`);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(await res.json()).toEqual(await get.json());
  });
});
