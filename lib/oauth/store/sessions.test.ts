import { decodeJwt } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { refreshTokenHash, rotateRefreshToken } from "@/lib/oauth/store/refresh-tokens.ts";
import { endSession, endUserSessions } from "@/lib/oauth/store/sessions.ts";
import type { Prisma } from "@/lib/generated/prisma/client.ts";
import { ALICE, callUserinfo, introspect, postRevoke, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";

afterEach(async () => {
  vi.restoreAllMocks();
  vi.useRealTimers();
  await db().client.updateMany({ data: { disabled: false, sessionTtl: null } });
  clearCaches();
});

const refresh = (refresh_token: string) => postToken({ grant_type: "refresh_token", refresh_token, ...SPA });
const userinfo = (token: string) => callUserinfo({ headers: { Authorization: `Bearer ${token}` } });

describe("every sign-in is a session with an id (sid)", () => {
  it("puts the same sid in the access and ID tokens and keeps it with the refresh-token family", async () => {
    const tokens = await signIn();
    const access = decodeJwt(tokens.access_token);
    const id = decodeJwt(tokens.id_token!);
    expect(access.sid).toMatch(/^[0-9a-f-]{36}$/);
    expect(id.sid).toBe(access.sid);
    const row = await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: refreshTokenHash(tokens.refresh_token) } });
    expect(row.familyId).toBe(access.sid);
    const session = await db().session.findUniqueOrThrow({ where: { id: access.sid as string } });
    expect(session).toMatchObject({ userId: access.sub, amr: "pwd", authTime: BigInt(id.auth_time as number), endedAt: null });
    const next = await (await refresh(tokens.refresh_token)).json();
    expect(decodeJwt(next.access_token).sid).toBe(access.sid);
    expect(decodeJwt(next.id_token).sid).toBe(access.sid);
  });

  it("a refresh says how the user signed in (the session's amr), never a fixed pwd", async () => {
    const tokens = await signIn();
    await db().session.update({ where: { id: decodeJwt(tokens.access_token).sid as string }, data: { amr: "pwd otp" } });
    const next = await (await refresh(tokens.refresh_token)).json();
    expect(decodeJwt(next.access_token).amr).toEqual(["pwd", "otp"]);
    expect(decodeJwt(next.id_token).amr).toEqual(["pwd", "otp"]);
  });
});

describe("revoking the refresh token ends the session everywhere (RFC 7009 §2.1)", () => {
  it("refuses the session's access tokens at introspection, userinfo and revocation from that moment", async () => {
    const tokens = await signIn({ ...SPA, ...ALICE, scope: "openid profile offline_access" });
    const second = await (await refresh(tokens.refresh_token)).json();
    expect((await userinfo(tokens.access_token)).status).toBe(200);
    expect((await introspect(second.access_token)).active).toBe(true);

    expect((await postRevoke({ ...SPA, token: second.refresh_token, token_type_hint: "refresh_token" })).status).toBe(200);

    for (const token of [tokens.access_token, second.access_token]) {
      expect(await introspect(token)).toEqual({ active: false });
      const res = await userinfo(token);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
    }
    // Revoking such a token again is answered like an unknown token: nothing is put on the denylist.
    expect((await postRevoke({ ...SPA, token: tokens.access_token })).status).toBe(200);
    expect(await db().revokedAccessToken.count()).toBe(0);
    const session = await db().session.findUniqueOrThrow({ where: { id: decodeJwt(tokens.access_token).sid as string } });
    expect(session.endedAt).not.toBeNull();
  });

  it("leaves the user's other sessions alone", async () => {
    const first = await signIn();
    const other = await signIn();
    await postRevoke({ ...SPA, token: first.refresh_token });
    expect((await introspect(other.access_token)).active).toBe(true);
    expect((await refresh(other.refresh_token)).status).toBe(200);
  });

  it("ends the session on refresh-token reuse too", async () => {
    const tokens = await signIn();
    await refresh(tokens.refresh_token);
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
  });
});

describe("a disabled client's tokens are refused, like a disabled user's", () => {
  it("introspection says active: false and userinfo 401 for its access and refresh tokens", async () => {
    const tokens = await signIn();
    await db().client.updateMany({ where: { clientId: "demo-spa" }, data: { disabled: true } });
    clearCaches();
    expect(await introspect(tokens.access_token)).toEqual({ active: false });
    expect(await introspect(tokens.refresh_token, "refresh_token")).toEqual({ active: false });
    expect((await userinfo(tokens.access_token)).status).toBe(401);
  });
});

describe("the absolute session lifetime (ASVS 5.0 §7.3.2)", () => {
  it("ends a refresh-token family SESSION_MAX_SECONDS after sign-in, whatever its rotations", async () => {
    vi.spyOn(settings(), "SESSION_MAX_SECONDS", "get").mockReturnValue(120);
    const start = Date.now();
    const first = await signIn();
    const row = await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: refreshTokenHash(first.refresh_token) } });
    expect(Math.abs(row.expiresAt.getTime() - (start + 120_000))).toBeLessThan(2_000);
    expect(decodeJwt(first.access_token).exp! - decodeJwt(first.access_token).iat!).toBeLessThanOrEqual(120);
    vi.useFakeTimers({ toFake: ["Date"], now: start + 60_000 });
    const second = await (await refresh(first.refresh_token)).json();
    expect(second.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeJwt(second.access_token).exp).toBeLessThanOrEqual(Math.ceil((start + 120_000) / 1000));
    vi.setSystemTime(start + 121_000);
    const late = await refresh(second.refresh_token);
    expect(late.status).toBe(400);
    expect(await late.json()).toEqual({ error: "invalid_grant", error_description: "the refresh token is invalid" });
  });

  it("takes the client's setting over the workspace's and the default", async () => {
    await db().client.updateMany({ where: { clientId: "demo-spa" }, data: { sessionTtl: 60 } });
    clearCaches();
    const start = Date.now();
    const tokens = await signIn();
    vi.useFakeTimers({ toFake: ["Date"], now: start + 61_000 });
    expect((await refresh(tokens.refresh_token)).status).toBe(400);
  });

  it("is 30 days by default", async () => {
    const tokens = await signIn();
    const session = await db().session.findUniqueOrThrow({ where: { id: decodeJwt(tokens.access_token).sid as string } });
    expect(Math.round((session.expiresAt.getTime() - session.createdAt.getTime()) / 1000)).toBe(30 * 24 * 3600);
  });
});

describe("a refresh-token family from before sessions (a rolling upgrade)", () => {
  it("is adopted as a pwd session that ends SESSION_MAX_SECONDS after its sign-in", async () => {
    const user = await db().user.findFirstOrThrow({ where: { username: "alice" } });
    const client = await db().client.findFirstOrThrow({ where: { clientId: "demo-spa" } });
    const token = "legacy-refresh-token-0123456789abcdefghijklmnopq";
    const authTime = Math.floor(Date.now() / 1000) - 60;
    await db().refreshToken.create({
      data: {
        tokenHash: refreshTokenHash(token),
        familyId: "legacy-family",
        clientId: client.id,
        userId: user.id,
        scope: "openid offline_access",
        authTime,
        expiresAt: new Date(Date.now() + 3600_000),
      },
    });
    const res = await refresh(token);
    expect(res.status).toBe(200);
    expect(decodeJwt((await res.json()).access_token).sid).toBe("legacy-family");
    const session = await db().session.findUniqueOrThrow({ where: { id: "legacy-family" } });
    expect(session).toMatchObject({ amr: "pwd", authTime: BigInt(authTime), endedAt: null, userId: user.id });
    expect(session.expiresAt.getTime()).toBe((authTime + 30 * 24 * 3600) * 1000);
  });
});

// PostgreSQL only: SQLite has one writer at a time, so no two transactions ever hold rows while
// waiting for each other's.
describe.runIf(settings().databaseFile === undefined)("ending sessions while a refresh binds one to a DPoP key (PostgreSQL's row locks)", () => {
  const ends: Array<[string, (tx: Prisma.TransactionClient, row: { familyId: string; userId: string }) => Promise<unknown>]> = [
    ["a sign-out (endSession)", (tx, row) => endSession(row.familyId, tx)],
    ["a new password (endUserSessions)", (tx, row) => endUserSessions(row.userId, tx)],
  ];
  it.each(ends)("%s takes the rows in the rotation's order: the rotation waits for it, and no deadlock aborts either", async (_name, end) => {
    const tokens = await signIn();
    const row = await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: refreshTokenHash(tokens.refresh_token) } });
    const session = await db().session.findUniqueOrThrow({ where: { id: row.familyId } });
    const grant = {
      clientId: row.clientId,
      userId: row.userId,
      scope: ["openid"],
      authTime: Number(row.authTime),
      familyId: row.familyId,
      ttl: 60,
      notAfter: session.expiresAt,
    };
    let rotation: Promise<unknown> | undefined;
    // The end's statements, paused after its first: a first refresh with a DPoP proof starts then,
    // and has the time to take whatever row it can before the end goes on.
    await db().$transaction(async (tx) => {
      let statements = 0;
      const paused = new Proxy(tx, {
        get(target, property, receiver) {
          if (property !== "$executeRaw") return Reflect.get(target, property, receiver);
          return async (query: Prisma.Sql) => {
            const changed = await target.$executeRaw(query);
            if (++statements === 1) {
              rotation = rotateRefreshToken(row.tokenHash, grant, "a successor", "a DPoP key's thumbprint");
              await new Promise((resolve) => setTimeout(resolve, 300));
            }
            return changed;
          };
        },
      });
      await end(paused, row);
    });
    // The token was revoked before the rotation could take it: nothing issued, nothing bound.
    expect(await rotation).toBeNull();
    expect(await db().session.findUniqueOrThrow({ where: { id: row.familyId } })).toMatchObject({ dpopJkt: null, endedAt: expect.any(Date) });
    expect(await db().refreshToken.findUniqueOrThrow({ where: { tokenHash: row.tokenHash } })).toMatchObject({ consumedAt: null, revokedAt: expect.any(Date) });
  });
});
