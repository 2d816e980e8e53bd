import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { refreshTokenHash } from "@/lib/oauth/store/refresh-tokens.ts";
import type { BeforeRotation } from "@/lib/testing/rotation-race.ts";
import { ALICE, BACKEND_BASIC, getJwks, introspect, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";
import { captureRequestLogs } from "@/lib/testing/logs.ts";

// What happens to a token between the grant's read of it and its rotation: `beforeRotation`, when
// set, runs once just before the rotation's conditional update (a concurrent sign-out, the token's expiry).
const race = vi.hoisted(() => ({ beforeRotation: undefined as BeforeRotation | undefined }));
vi.mock("@/lib/oauth/store/refresh-tokens.ts", async (original) => (await import("@/lib/testing/rotation-race.ts")).raceBeforeRotation(await original(), race));

const refresh = (refresh_token: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) =>
  postToken({ grant_type: "refresh_token", refresh_token, ...SPA, ...extra }, headers);

let jwks: ReturnType<typeof createLocalJWKSet>;
beforeAll(async () => {
  jwks = createLocalJWKSet((await (await getJwks()).json()) as JSONWebKeySet);
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("refresh tokens from the password grant", () => {
  it("are opaque, 256 bits, stored only as a hash, bound to client, user, scope and auth_time", async () => {
    const tokens = await signIn({ ...SPA, ...ALICE, scope: "openid email offline_access" });
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const rows = await db().refreshToken.findMany({ where: { tokenHash: refreshTokenHash(tokens.refresh_token) }, include: { client: true } });
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(JSON.stringify(row, (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value))).not.toContain(tokens.refresh_token);
    const id = decodeJwt(tokens.id_token!);
    expect(row.client.clientId).toBe("demo-spa");
    expect(row.userId).toBe(id.sub);
    expect(row.scope).toBe("email offline_access openid");
    expect(row.authTime).toBe(BigInt(id.auth_time as number));
    expect(Math.round((row.expiresAt.getTime() - Date.now()) / 1000)).toBeCloseTo(7 * 24 * 3600, -1);
    expect(id.refresh_token_expires_at).toBe(Math.floor(row.expiresAt.getTime() / 1000));
  });

  it("are not issued to a client not allowed the refresh_token grant", async () => {
    const { hashClientSecret } = await import("@/lib/oauth/client-auth/secrets.ts");
    const { basic } = await import("@/lib/testing/oauth.ts");
    const workspace = await db().workspace.findFirstOrThrow();
    await db().client.create({
      data: {
        workspaceId: workspace.id,
        clientId: "no-refresh",
        name: "x",
        secretHash: hashClientSecret("no-refresh-secret"),
        authMethods: "client_secret_basic",
        grantTypes: "password",
        scopes: "openid",
      },
    });
    const res = await postToken({ grant_type: "password", ...ALICE }, { Authorization: basic("no-refresh", "no-refresh-secret") });
    expect(res.status).toBe(200);
    expect(await res.json()).not.toHaveProperty("refresh_token");
  });
});

describe("grant_type=refresh_token (RFC 6749 §6)", () => {
  it("rotates: a new access, ID and refresh token, the same auth_time, the old token consumed", async () => {
    const first = await signIn();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 5000 });
    const res = await refresh(first.refresh_token);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const second = await res.json();
    expect(Object.keys(second).sort()).toEqual(["access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"]);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.scope).toBe(first.scope);
    const before = decodeJwt(first.id_token!);
    const after = (await jwtVerify(second.id_token, jwks, { currentDate: new Date() })).payload;
    expect(after.auth_time).toBe(before.auth_time);
    expect(after.iat).toBeGreaterThan(before.iat!);
    expect(after.sub).toBe(before.sub);
    const old = await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: refreshTokenHash(first.refresh_token) } });
    const next = await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: refreshTokenHash(second.refresh_token) } });
    expect(old.consumedAt).not.toBeNull();
    expect(next.familyId).toBe(old.familyId);
  });

  it("treats a consumed token as reuse: invalid_grant, and the whole family dies, newer generations too", async () => {
    const first = await signIn();
    const second = await (await refresh(first.refresh_token)).json();
    const third = await (await refresh(second.refresh_token)).json();
    const reuse = await refresh(first.refresh_token);
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toEqual({ error: "invalid_grant", error_description: "the refresh token is invalid" });
    const res = await refresh(third.refresh_token);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_grant");
    expect(await introspect(third.refresh_token)).toEqual({ active: false });
  });

  it("treats a consumed token as reuse even when the request is wrong otherwise (a wider scope): no probing it", async () => {
    const first = await signIn();
    const second = await (await refresh(first.refresh_token)).json();
    const probe = await refresh(first.refresh_token, { scope: "openid phone address" });
    expect(probe.status).toBe(400);
    expect(await probe.json()).toEqual({ error: "invalid_grant", error_description: "the refresh token is invalid" });
    expect((await refresh(second.refresh_token)).status).toBe(400);
  });

  it("carries on no scope the client has lost since the sign-in", async () => {
    const { setClient, getClient } = await import("@/lib/admin/clients.ts");
    const { clearCaches } = await import("@/lib/platform/caches.ts");
    const scopes = (await getClient("demo/default", "demo-spa")).scopes;
    const first = await signIn({ ...SPA, ...ALICE, scope: "openid email profile offline_access" });
    await setClient("demo/default", "demo-spa", { scopes: scopes.filter((s) => s !== "email") });
    clearCaches();
    try {
      const res = await refresh(first.refresh_token);
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body.scope).toBe("offline_access openid profile");
      expect(decodeJwt(body.access_token).scope).toBe("offline_access openid profile");
      expect(decodeJwt(body.id_token)).not.toHaveProperty("email");
      const row = await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: refreshTokenHash(body.refresh_token) } });
      expect(row.scope).toBe("offline_access openid profile");
      const wider = await refresh(body.refresh_token, { scope: "openid email" });
      expect(wider.status).toBe(400);
      expect((await wider.json()).error).toBe("invalid_scope");
    } finally {
      await setClient("demo/default", "demo-spa", { scopes });
      clearCaches();
    }
  });

  it("lets exactly one of two concurrent requests with the same token succeed", async () => {
    const { refresh_token } = await signIn();
    const results = await Promise.all([refresh(refresh_token), refresh(refresh_token)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    const loser = results.find((r) => r.status === 400)!;
    expect((await loser.json()).error).toBe("invalid_grant");
  });

  describe("with REFRESH_REUSE_GRACE_SECONDS", () => {
    const withGrace = async () => {
      const { settings } = await import("@/lib/platform/env.ts");
      vi.spyOn(settings(), "REFRESH_REUSE_GRACE_SECONDS", "get").mockReturnValue(10);
    };

    it("answers a retry of a just-consumed token with the same successor (a lost answer)", async () => {
      await withGrace();
      const first = await signIn();
      const second = await (await refresh(first.refresh_token)).json();
      const retry = await refresh(first.refresh_token);
      expect(retry.status).toBe(200);
      const again = await retry.json();
      expect(again.refresh_token).toBe(second.refresh_token);
      expect(again.access_token).not.toBe(second.access_token);
      expect(await db().refreshToken.count({ where: { tokenHash: refreshTokenHash(second.refresh_token) } })).toBe(1);
      expect((await refresh(second.refresh_token)).status).toBe(200);
    });

    it("lets two concurrent uses both succeed with one successor", async () => {
      await withGrace();
      const { refresh_token } = await signIn();
      const results = await Promise.all([refresh(refresh_token), refresh(refresh_token)]);
      expect(results.map((r) => r.status)).toEqual([200, 200]);
      const [a, b] = await Promise.all(results.map((r) => r.json()));
      expect(a.refresh_token).toBe(b.refresh_token);
    });

    it("still treats a retry after the successor was used as reuse", async () => {
      await withGrace();
      const first = await signIn();
      const second = await (await refresh(first.refresh_token)).json();
      const third = await (await refresh(second.refresh_token)).json();
      expect((await refresh(first.refresh_token)).status).toBe(400);
      expect((await refresh(third.refresh_token)).status).toBe(400);
    });

    it("treats a retry after the window as reuse", async () => {
      await withGrace();
      const first = await signIn();
      const second = await (await refresh(first.refresh_token)).json();
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 11_000 });
      expect((await refresh(first.refresh_token)).status).toBe(400);
      expect((await refresh(second.refresh_token)).status).toBe(400);
    });
  });

  it.each([
    ["a narrower scope", "openid", 200, "openid"],
    ["the same scope in another order", "profile openid email", 200, "email openid profile"],
    ["a wider scope", "openid offline_access", 400, "invalid_scope"],
  ])("accepts or refuses %s", async (_name, scope, status, expected) => {
    const first = await signIn();
    const res = await refresh(first.refresh_token, { scope });
    expect(res.status).toBe(status);
    const body = await res.json();
    if (status === 200) expect(body.scope).toBe(expected);
    else expect(body.error).toBe(expected);
  });

  it("keeps the original scope in the next refresh token after a narrowed refresh", async () => {
    const first = await signIn();
    const narrowed = await (await refresh(first.refresh_token, { scope: "openid" })).json();
    expect(decodeJwt(narrowed.id_token)).not.toHaveProperty("email");
    const again = await (await refresh(narrowed.refresh_token)).json();
    expect(again.scope).toBe("email openid profile");
  });

  it("issues no ID token when the narrowed scope has no openid", async () => {
    const first = await signIn();
    const body = await (await refresh(first.refresh_token, { scope: "profile" })).json();
    expect(body.scope).toBe("profile");
    expect(body).not.toHaveProperty("id_token");
    expect(body.refresh_token).toBeDefined();
  });

  it("refuses a token of another client without consuming it", async () => {
    const { refresh_token } = await signIn();
    const res = await postToken({ grant_type: "refresh_token", refresh_token }, BACKEND_BASIC);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_grant");
    expect((await refresh(refresh_token)).status).toBe(200);
  });

  it.each([
    ["revoked (a sign-out)", { revokedAt: new Date() }],
    ["expired", { expiresAt: new Date(Date.now() - 1000) }],
  ])("refuses a token %s between its read and its rotation without calling it reuse", async (_name, change) => {
    const { refresh_token } = await signIn();
    race.beforeRotation = async (tokenHash) => void (await db().refreshToken.update({ where: { tokenHash }, data: change }));
    const logged = captureRequestLogs();
    const res = await refresh(refresh_token);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the refresh token is invalid" });
    expect(logged().map((line) => line.event)).not.toContain("token.reuse_detected");
    // Nothing was revoked for it: the session is as the change left it.
    const { familyId } = await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: refreshTokenHash(refresh_token) } });
    const others = await db().refreshToken.count({ where: { familyId, revokedAt: { not: null }, tokenHash: { not: refreshTokenHash(refresh_token) } } });
    expect(others).toBe(0);
    expect((await db().session.findUniqueOrThrow({ where: { id: familyId } })).endedAt).toBeNull();
  });

  it("refuses an expired token", async () => {
    const { refresh_token } = await signIn();
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 7 * 24 * 3600 * 1000 + 1000 });
    const res = await refresh(refresh_token);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_grant");
  });

  it("refuses a token whose user has since been disabled, and ends the family", async () => {
    const { username } = await db().user.create({
      data: {
        workspaceId: (await db().workspace.findFirstOrThrow()).id,
        username: "erin",
        passwordHash: (await db().user.findFirstOrThrow({ where: { username: "alice" } })).passwordHash,
      },
    });
    const { refresh_token } = await signIn({ ...SPA, username, password: ALICE.password });
    await db().user.update({
      where: { workspaceId_username: { workspaceId: (await db().workspace.findFirstOrThrow()).id, username } },
      data: { disabled: true },
    });
    const res = await refresh(refresh_token);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_grant");
    const row = await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: refreshTokenHash(refresh_token) } });
    expect(row.revokedAt).not.toBeNull();
  });

  it.each([
    ["no refresh_token", {}, "invalid_request"],
    ["an unknown refresh_token", { refresh_token: "x".repeat(43) }, "invalid_grant"],
    ["a huge refresh_token", { refresh_token: "x".repeat(600) }, "invalid_grant"],
  ])("answers %s with %s", async (_name, fields, error) => {
    const res = await postToken({ grant_type: "refresh_token", ...SPA, ...fields });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe(error);
  });

  it("is refused to a client not allowed the grant", async () => {
    const { SERVICE_BASIC } = await import("@/lib/testing/oauth.ts");
    const res = await postToken({ grant_type: "refresh_token", refresh_token: "x" }, SERVICE_BASIC);
    expect((await res.json()).error).toBe("unauthorized_client");
  });
});
