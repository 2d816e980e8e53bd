import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { callUserinfo, signIn, SPA, ALICE, ISSUER, postToken, SERVICE_BASIC } from "@/lib/testing/oauth.ts";

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe("userinfo (OIDC Core §5.3, RFC 6750)", () => {
  it("answers GET with the claims of the granted scope; sub equals the ID token's", async () => {
    const tokens = await signIn();
    const res = await callUserinfo({ headers: bearer(tokens.access_token) });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ sub: decodeJwt(tokens.id_token!).sub, name: "Alice Example", email: "alice@example.com", email_verified: true });
  });

  it.each([
    ["openid", ["sub"]],
    ["openid profile", ["name", "sub"]],
    ["openid email", ["email", "email_verified", "sub"]],
  ])("scope %j gives %j", async (scope, keys) => {
    const tokens = await signIn({ ...SPA, ...ALICE, scope });
    const body = await (await callUserinfo({ headers: bearer(tokens.access_token) })).json();
    expect(Object.keys(body).sort()).toEqual(keys);
  });

  it("answers POST with the token in the header or in a form body (RFC 6750 §2.2)", async () => {
    const tokens = await signIn();
    expect((await callUserinfo({ method: "POST", headers: bearer(tokens.access_token) })).status).toBe(200);
    const res = await callUserinfo({ method: "POST", body: { access_token: tokens.access_token } });
    expect(res.status).toBe(200);
    expect((await res.json()).name).toBe("Alice Example");
  });

  it("refuses a token sent twice, naming the error in its challenge too (RFC 6750 §3)", async () => {
    const tokens = await signIn();
    const res = await callUserinfo({ method: "POST", body: { access_token: tokens.access_token }, headers: bearer(tokens.access_token) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: "send the access token once, in the header or the body" });
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer realm="${ISSUER}", error="invalid_request", error_description="send the access token once, in the header or the body"`,
    );
  });

  it("refuses a malformed form body with invalid_request, in a challenge too (RFC 6750 §3)", async () => {
    const tokens = await signIn();
    const res = await callUserinfo({ method: "POST", body: `access_token=${tokens.access_token}&access_token=${tokens.access_token}` });
    expect(res.status).toBe(400);
    const { error, error_description } = (await res.json()) as { error: string; error_description: string };
    expect(error).toBe("invalid_request");
    expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="${ISSUER}", error="invalid_request", error_description="${error_description}"`);
  });

  it("answers no token with a bare 401 challenge in each scheme (RFC 6750 §3.1, RFC 9449 §7.1) and no error code", async () => {
    for (const res of [await callUserinfo(), await callUserinfo({ method: "POST", body: {} }), await callUserinfo({ method: "GET", headers: {} })]) {
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="${ISSUER}", DPoP realm="${ISSUER}", algs="ES256 RS256 PS256 EdDSA"`);
      expect(await res.text()).toBe("");
    }
  });

  it.each(["Basic abc", "Bearer", "Bearer a b", "Bearer ä"])("answers a malformed Authorization %j with invalid_token", async (authorization) => {
    const res = await callUserinfo({ headers: { Authorization: authorization } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("answers a token without openid with 403 insufficient_scope", async () => {
    const tokens = await signIn({ ...SPA, ...ALICE, scope: "profile" });
    const res = await callUserinfo({ headers: bearer(tokens.access_token) });
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toBe(
      `Bearer realm="${ISSUER}", error="insufficient_scope", error_description="the access token lacks the openid scope", scope="openid"`,
    );
    expect((await res.json()).error).toBe("insufficient_scope");
  });

  it("answers a client's own token (no user) with 403 insufficient_scope", async () => {
    const { access_token } = await (await postToken({ grant_type: "client_credentials" }, SERVICE_BASIC)).json();
    expect((await callUserinfo({ headers: bearer(access_token) })).status).toBe(403);
  });

  it("is GET and POST only", async () => {
    const res = await callUserinfo({ method: "PUT" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, POST");
  });
});
