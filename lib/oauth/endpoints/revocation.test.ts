import { describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { refreshTokenHash } from "@/lib/oauth/store/refresh-tokens.ts";
import { BACKEND_BASIC, callUserinfo, introspect, postRevoke, postToken, signIn, SPA, ALICE, basic } from "@/lib/testing/oauth.ts";

describe("revocation (RFC 7009)", () => {
  it("revokes a refresh token and its family; refreshing then fails", async () => {
    const first = await signIn();
    const second = await (await postToken({ grant_type: "refresh_token", refresh_token: first.refresh_token, ...SPA })).json();
    const res = await postRevoke({ token: second.refresh_token, token_type_hint: "refresh_token", ...SPA });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("");
    const refreshed = await postToken({ grant_type: "refresh_token", refresh_token: second.refresh_token, ...SPA });
    expect(refreshed.status).toBe(400);
    expect((await refreshed.json()).error).toBe("invalid_grant");
    const family = await db().refreshToken.findMany({
      where: { familyId: (await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: refreshTokenHash(first.refresh_token) } })).familyId },
    });
    expect(family.every((t) => t.revokedAt !== null)).toBe(true);
  });

  it("puts an access token on the denylist: introspection says inactive, userinfo invalid_token", async () => {
    const tokens = await signIn();
    expect((await introspect(tokens.access_token)).active).toBe(true);
    const res = await postRevoke({ token: tokens.access_token, ...SPA });
    expect(res.status).toBe(200);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    const info = await callUserinfo({ headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(info.status).toBe(401);
    expect(info.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const row = await db().revokedAccessToken.findFirstOrThrow({ orderBy: { revokedAt: "desc" } });
    expect(row.expiresAt.getTime()).toBeGreaterThan(Date.now());
  });

  it("ignores the hint when it is wrong", async () => {
    const tokens = await signIn();
    expect((await postRevoke({ token: tokens.refresh_token, token_type_hint: "access_token", ...SPA })).status).toBe(200);
    expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
  });

  it.each(["unknown", "x".repeat(9000)])("answers 200 for an unknown token (%#)", async (token) => {
    expect((await postRevoke({ token, ...SPA })).status).toBe(200);
  });

  it("answers 200 for an already revoked token", async () => {
    const tokens = await signIn();
    expect((await postRevoke({ token: tokens.refresh_token, ...SPA })).status).toBe(200);
    expect((await postRevoke({ token: tokens.refresh_token, ...SPA })).status).toBe(200);
  });

  it("does not revoke another client's token, and says so", async () => {
    const tokens = await signIn();
    for (const token of [tokens.refresh_token, tokens.access_token]) {
      const res = await postRevoke({ token }, BACKEND_BASIC);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "unauthorized_client", error_description: "the token was not issued to this client" });
      expect((await introspect(token)).active).toBe(true);
    }
  });

  it("authenticates confidential clients as the token endpoint does", async () => {
    const tokens = await signIn({ client_id: "demo-backend", client_secret: "demo-backend-secret", ...ALICE });
    const bad = await postRevoke({ token: tokens.refresh_token }, { Authorization: basic("demo-backend", "wrong") });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
    expect((await postRevoke({ token: tokens.refresh_token, client_id: "demo-backend" })).status).toBe(401);
    expect((await postRevoke({ token: tokens.refresh_token }, BACKEND_BASIC)).status).toBe(200);
    expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
  });

  it("requires the token parameter", async () => {
    const res = await postRevoke({ ...SPA });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_request");
  });
});
