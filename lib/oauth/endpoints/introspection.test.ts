import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { clientTokenJti, mintAccessToken } from "@/lib/oauth/tokens/mint.ts";
import { findWorkspace } from "@/lib/oauth/store/workspaces.ts";
import { addClient, deleteClient } from "@/lib/admin/clients.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { db } from "@/lib/platform/db.ts";
import { ALICE, basic, BACKEND_BASIC, introspect, ISSUER, postIntrospect, postToken, SERVICE_BASIC, signIn, SPA } from "@/lib/testing/oauth.ts";

describe("introspection (RFC 7662)", () => {
  it("describes an active access token", async () => {
    const tokens = await signIn();
    const claims = decodeJwt(tokens.access_token);
    const res = await postIntrospect({ token: tokens.access_token }, BACKEND_BASIC);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({
      active: true,
      scope: "email openid profile",
      client_id: "demo-spa",
      username: "alice",
      token_type: "bearer",
      exp: claims.exp,
      iat: claims.iat,
      nbf: claims.nbf,
      sub: claims.sub,
      aud: ["demo-spa"],
      iss: ISSUER,
      jti: claims.jti,
    });
  });

  it("describes an active refresh token", async () => {
    const tokens = await signIn();
    const row = await db().refreshToken.findFirstOrThrow({ orderBy: { createdAt: "desc" } });
    const result = await introspect(tokens.refresh_token, "refresh_token");
    expect(result).toEqual({
      active: true,
      scope: "email openid profile",
      client_id: "demo-spa",
      username: "alice",
      token_type: "refresh_token",
      exp: Math.floor(row.expiresAt.getTime() / 1000),
      iat: expect.any(Number),
      sub: decodeJwt(tokens.access_token).sub,
      aud: "demo-spa",
      iss: ISSUER,
    });
  });

  it("reports a refresh token's scope without what its client has lost since (as its refresh would carry it)", async () => {
    const { setClient, getClient } = await import("@/lib/admin/clients.ts");
    const { clearCaches } = await import("@/lib/platform/caches.ts");
    const scopes = (await getClient("demo/default", "demo-spa")).scopes;
    const tokens = await signIn();
    await setClient("demo/default", "demo-spa", { scopes: scopes.filter((s) => s !== "email") });
    clearCaches();
    try {
      expect(await introspect(tokens.refresh_token, "refresh_token")).toMatchObject({ active: true, scope: "openid profile", client_id: "demo-spa" });
      const refreshed = await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA });
      expect((await refreshed.json()).scope).toBe("openid profile");
    } finally {
      await setClient("demo/default", "demo-spa", { scopes });
      clearCaches();
    }
  });

  it("treats token_type_hint as a hint only", async () => {
    const tokens = await signIn();
    expect((await introspect(tokens.access_token, "refresh_token")).active).toBe(true);
    expect((await introspect(tokens.refresh_token, "access_token")).active).toBe(true);
    expect((await introspect(tokens.access_token, "nonsense")).active).toBe(true);
  });

  it("describes a client's own token without a username", async () => {
    const { access_token } = await (await postToken({ grant_type: "client_credentials" }, SERVICE_BASIC)).json();
    const result = await introspect(access_token);
    expect(result).toMatchObject({ active: true, sub: "demo-service", client_id: "demo-service" });
    expect(result).not.toHaveProperty("username");
  });

  it("may be called by demo-service (client credentials only) too", async () => {
    const tokens = await signIn();
    const res = await postIntrospect({ token: tokens.access_token }, SERVICE_BASIC);
    expect((await res.json()).active).toBe(true);
  });

  it("says inactive for a deleted client's token, also once a client of that client_id is added again", async () => {
    const add = () => addClient({ workspace: "demo/default", clientId: "phoenix", grants: ["client_credentials"], scopes: ["introspect_tokens"] });
    const first = await add();
    const res = await postToken({ grant_type: "client_credentials" }, { Authorization: basic("phoenix", first.secret!) });
    const { access_token } = (await res.json()) as { access_token: string };
    expect((await introspect(access_token)).active).toBe(true);
    await deleteClient("demo/default", "phoenix");
    clearCaches();
    expect(await introspect(access_token)).toEqual({ active: false });
    // Added again (its secret had leaked, say): the old one's tokens stay dead, its own live.
    const again = await add();
    clearCaches();
    expect(await introspect(access_token)).toEqual({ active: false });
    const own = await postToken({ grant_type: "client_credentials" }, { Authorization: basic("phoenix", again.secret!) });
    expect((await introspect(((await own.json()) as { access_token: string }).access_token)).active).toBe(true);
  });

  it("takes a client's token issued before its jti named the client's row (an upgrade) as its own", async () => {
    const client = await db().client.findFirstOrThrow({ where: { clientId: "demo-service" } });
    const workspace = await findWorkspace("demo", "default");
    // demo-service's own token, as the client credentials grant mints it, with the jti given.
    const ownToken = (jti?: string) =>
      mintAccessToken({ workspace, clientId: "demo-service", audiences: [], subject: "demo-service", scope: ["introspect_tokens"], ttl: 300, jti });
    const plain = await ownToken();
    expect(plain.claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect((await introspect(plain.token)).active).toBe(true);
    const tagged = await ownToken(clientTokenJti(client.id));
    expect((await introspect(tagged.token)).active).toBe(true);
    // Another row's tag is another client's token.
    const other = await ownToken(clientTokenJti("another-row"));
    expect(await introspect(other.token)).toEqual({ active: false });
  });

  it("says inactive for a consumed refresh token and for a disabled user's tokens", async () => {
    const tokens = await signIn();
    await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA });
    expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
    const workspaceId = (await db().workspace.findFirstOrThrow()).id;
    const hash = (await db().user.findFirstOrThrow({ where: { username: "alice" } })).passwordHash;
    await db().user.create({ data: { workspaceId, username: "erin", passwordHash: hash } });
    const erin = await signIn({ ...SPA, username: "erin", password: ALICE.password });
    await db().user.update({ where: { workspaceId_username: { workspaceId, username: "erin" } }, data: { disabled: true } });
    expect(await introspect(erin.access_token)).toEqual({ active: false });
    expect(await introspect(erin.refresh_token)).toEqual({ active: false });
  });

  it.each<[string, Record<string, string>, Record<string, string>, number, string]>([
    ["no client authentication", {}, {}, 401, "invalid_client"],
    ["a wrong secret", {}, { Authorization: basic("demo-backend", "nope") }, 401, "invalid_client"],
    ["a public client", { client_id: "demo-spa" }, {}, 401, "invalid_client"],
    ["a confidential client without introspect_tokens", {}, { Authorization: basic("demo-web", "demo-web-secret") }, 403, "unauthorized_client"],
    ["no token", {}, BACKEND_BASIC, 400, "invalid_request"],
  ])("refuses %s", async (_name, body, headers, status, error) => {
    const tokens = await signIn();
    const fields = error === "invalid_request" ? body : { token: tokens.access_token, ...body };
    const res = await postIntrospect(fields, headers);
    expect(res.status).toBe(status);
    const json = await res.json();
    expect(json.error).toBe(error);
    expect(json).not.toHaveProperty("active");
  });

  it("says inactive for a token too long to be ours", async () => {
    expect(await introspect("x".repeat(9000))).toEqual({ active: false });
  });
});
