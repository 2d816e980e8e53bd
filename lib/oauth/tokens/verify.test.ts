import type { JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { forgedTokens } from "@/lib/testing/forged.ts";
import { callUserinfo, getJwks, introspect, postRevoke, BACKEND_BASIC, signIn, ALICE } from "@/lib/testing/oauth.ts";

let forged: Record<string, string>;
beforeAll(async () => {
  const { keys } = (await (await getJwks()).json()) as { keys: JWK[] };
  forged = await forgedTokens(keys.find((k) => k.alg === "ES256")!);
});

describe("the one access-token verifier refuses forged and stale tokens everywhere", () => {
  const names = [
    "alg none",
    "HS256 keyed with our public key",
    "an unknown kid",
    "our kid, another key",
    "no kid",
    "another issuer",
    "expired",
    "garbage",
    "three dots of garbage",
  ];

  it.each(names)("introspection: %s is exactly {active: false}", async (name) => {
    expect(await introspect(forged[name]!)).toEqual({ active: false });
  });

  it.each(names)("userinfo: %s is 401 invalid_token", async (name) => {
    const res = await callUserinfo({ headers: { Authorization: `Bearer ${forged[name]}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
    expect((await res.json()).error).toBe("invalid_token");
  });

  it.each(names)("revocation: %s is answered 200 and revokes nothing", async (name) => {
    const res = await postRevoke({ token: forged[name]! }, BACKEND_BASIC);
    expect(res.status).toBe(200);
  });

  it.each(["RS256", "EdDSA"] as const)("an access token signed with our own %s ID-token key is refused: access tokens are ES256 only", async (alg) => {
    const { keySet } = await import("@/lib/oauth/tokens/keys.ts");
    const { SignJWT, decodeJwt } = await import("jose");
    const { access_token } = await signIn({ client_id: "demo-backend", client_secret: "demo-backend-secret", ...ALICE });
    const { kid, key } = (await keySet()).signer(alg);
    const token = await new SignJWT(decodeJwt(access_token)).setProtectedHeader({ alg, kid, typ: "at+jwt" }).sign(key);
    expect(await introspect(token)).toEqual({ active: false });
    expect((await callUserinfo({ headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(await introspect(access_token)).toMatchObject({ active: true });
  });

  it("an ID token is not an access token (typ)", async () => {
    const { id_token } = await signIn({ client_id: "demo-backend", client_secret: "demo-backend-secret", ...ALICE });
    expect(await introspect(id_token!)).toEqual({ active: false });
    expect((await callUserinfo({ headers: { Authorization: `Bearer ${id_token}` } })).status).toBe(401);
  });
});
