import { afterEach, describe, expect, it, vi } from "vitest";
import { routes } from "@/lib/oauth/routes.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";
import { ALICE, BACKEND_BASIC, callUserinfo, getDiscovery, getJwks, postToken, routeContext, signIn, SPA, TOKEN_URL, ISSUER } from "@/lib/testing/oauth.ts";

const SPA_ORIGIN = "http://localhost:5173";
const EVIL = "https://evil.example";

afterEach(() => vi.restoreAllMocks());

const preflight = (origin: string, handler = routes.token, url = TOKEN_URL) =>
  handler.OPTIONS(new Request(url, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST" } }), routeContext());

describe("CORS, driven by each client's allowed origins", () => {
  it("answers a preflight from an allowed origin", async () => {
    const res = await preflight(SPA_ORIGIN);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(SPA_ORIGIN);
    expect(res.headers.get("access-control-allow-methods")).toBe("POST");
    expect(res.headers.get("access-control-allow-headers")).toBe("Authorization, Content-Type, DPoP");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("gives a preflight from any other origin no permission", async () => {
    const res = await preflight(EVIL);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("lets demo-spa's origin call the token endpoint and read the answer", async () => {
    const res = await postToken({ grant_type: "password", ...SPA, ...ALICE }, { Origin: SPA_ORIGIN });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe(SPA_ORIGIN);
    // RFC 9449 §8: a browser client reads the server's DPoP nonce and challenges.
    expect(res.headers.get("access-control-expose-headers")).toBe("WWW-Authenticate, Retry-After, X-Request-Id, DPoP-Nonce");
  });

  it("refuses another origin before any password is verified", async () => {
    const verify = vi.spyOn(passwordVerifier, "verify");
    const res = await postToken({ grant_type: "password", ...SPA, ...ALICE }, { Origin: EVIL });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toBe("unauthorized_client");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(verify).not.toHaveBeenCalled();
  });

  it("refuses an origin that some client allows, but not this one", async () => {
    const res = await postToken({ grant_type: "password", ...ALICE }, { ...BACKEND_BASIC, Origin: SPA_ORIGIN });
    expect(res.status).toBe(403);
  });

  it("applies to userinfo through the token's client", async () => {
    const { access_token } = await signIn();
    const ok = await callUserinfo({ headers: { Authorization: `Bearer ${access_token}`, Origin: SPA_ORIGIN } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(SPA_ORIGIN);
    const bad = await callUserinfo({ headers: { Authorization: `Bearer ${access_token}`, Origin: EVIL } });
    expect(bad.status).toBe(403);
    const pre = await preflight(SPA_ORIGIN, routes.userinfo, `${ISSUER}/userinfo`);
    expect(pre.headers.get("access-control-allow-methods")).toBe("GET, POST");
  });

  it("lets any origin read discovery and the JWKS", async () => {
    for (const res of [await getDiscovery(), await getJwks()]) expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});
