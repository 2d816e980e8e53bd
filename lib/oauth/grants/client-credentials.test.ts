import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { describe, expect, it } from "vitest";
import { getJwks, ISSUER, postToken, SERVICE_BASIC, BACKEND_BASIC } from "@/lib/testing/oauth.ts";

describe("grant_type=client_credentials (RFC 6749 §4.4)", () => {
  it("gives a confidential client its own access token: sub is the client id, no ID or refresh token", async () => {
    const res = await postToken({ grant_type: "client_credentials" }, SERVICE_BASIC);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "scope", "token_type"]);
    expect(body).toMatchObject({ token_type: "bearer", expires_in: 3600, scope: "introspect_tokens revoke_tokens" });
    const jwks = createLocalJWKSet((await (await getJwks()).json()) as JSONWebKeySet);
    const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, { issuer: ISSUER, audience: "demo-service", typ: "at+jwt" });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({
      sub: "demo-service",
      client_id: "demo-service",
      scp: ["introspect_tokens", "revoke_tokens"],
      tid: "demo",
      aid: "default",
      st: "public",
    });
    expect(payload).not.toHaveProperty("idp");
    expect(payload).not.toHaveProperty("amr");
  });

  it("grants a requested subset", async () => {
    const body = await (await postToken({ grant_type: "client_credentials", scope: "introspect_tokens" }, SERVICE_BASIC)).json();
    expect(body.scope).toBe("introspect_tokens");
  });

  it.each(["openid", "profile", "introspect_tokens admin"])("refuses scope %j with invalid_scope", async (scope) => {
    const res = await postToken({ grant_type: "client_credentials", scope }, SERVICE_BASIC);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_scope");
  });

  it("is refused to a client not allowed the grant", async () => {
    const res = await postToken({ grant_type: "client_credentials" }, BACKEND_BASIC);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("unauthorized_client");
  });

  it("is refused to a public client even if it were allowed the grant", async () => {
    const { db } = await import("@/lib/platform/db.ts");
    const workspace = await db().workspace.findFirstOrThrow();
    await db().client.create({
      data: {
        workspaceId: workspace.id,
        clientId: "public-cc",
        name: "x",
        type: "public",
        authMethods: "none",
        grantTypes: "client_credentials",
        scopes: "revoke_tokens",
      },
    });
    const res = await postToken({ grant_type: "client_credentials", client_id: "public-cc" });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("unauthorized_client");
  });
});
