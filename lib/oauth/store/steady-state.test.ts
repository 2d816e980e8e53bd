import { describe, expect, it } from "vitest";
import { clearCaches } from "@/lib/platform/caches.ts";
import { clientHasConnected, clientWasMade, db, sqlExecute, sqlRows } from "@/lib/platform/db.ts";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { logger } from "@/lib/platform/logger.ts";
import { devMailbox } from "@/lib/platform/mail.ts";
import { deliverDueMails } from "@/lib/oauth/endpoints/account/notices.ts";
import { noticeUser } from "@/lib/testing/notices.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { pruneExpired } from "@/lib/oauth/store/retention.ts";
import { routes } from "@/lib/oauth/routes.ts";
import {
  ALICE,
  BACKEND_BASIC,
  basic,
  call,
  callUserinfo,
  getBranding,
  getDiscovery,
  getJwks,
  introspect,
  ISSUER,
  postRevoke,
  postToken,
  signIn,
  SPA,
} from "@/lib/testing/oauth.ts";
import { codeAt, DAVE, DAVE_RECOVERY_CODES, DAVE_SECRET, MFA_OTP, MFA_RECOVERY_CODE, mfaTokenFor } from "@/lib/testing/mfa.ts";

// This file's own process and database (lib/testing/setup.ts): nothing else has queried through
// the client before it.
describe("a server's steady state runs on plain SQL", () => {
  it("never makes or connects Prisma's client: every grant, introspection, userinfo, revocation, the metadata and branding, the account page's reads, the failures' bookkeeping, the mails kept for users, retention", async () => {
    // Every cache cold, as in a server just started and each CONFIG_CACHE_SECONDS after.
    clearCaches();
    expect((await getDiscovery()).status).toBe(200);
    expect((await getJwks()).status).toBe(200);
    // A workspace with an uploaded logo: the sign-in pages' branding document carries it.
    const logo = Buffer.from("89504e470d0a1a0a", "hex");
    await sqlExecute(db(), Prisma.sql`UPDATE "Workspace" SET "brandLogoImage" = ${logo}, "brandLogoType" = ${"image/png"}`);
    clearCaches();
    const branding = (await (await getBranding()).json()) as { logo_uri?: string };
    expect(branding.logo_uri).toBe(`data:image/png;base64,${logo.toString("base64")}`);

    const tokens = await signIn();
    const refreshed = await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA });
    expect(refreshed.status).toBe(200);
    const rotated = (await refreshed.json()) as { access_token: string; refresh_token: string };
    expect((await introspect(rotated.access_token)).active).toBe(true);
    expect((await callUserinfo({ headers: { Authorization: `Bearer ${rotated.access_token}` } })).status).toBe(200);
    // A replayed refresh token: reuse detection ends the session.
    const replayed = await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA });
    expect(replayed.status).toBe(400);
    expect(await introspect(rotated.access_token)).toEqual({ active: false });

    // Sign-out: revocation of a refresh token and of an access token.
    const other = await signIn();
    expect((await postRevoke({ token: other.refresh_token, ...SPA })).status).toBe(200);
    expect((await postRevoke({ token: other.access_token, ...SPA })).status).toBe(200);

    // Failures are counted, then forgiven at the next success from the same address.
    const wrong = await postToken({ grant_type: "password", ...SPA, username: ALICE.username, password: "not-her-password" });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toBe("invalid_grant");
    await signIn();
    const badClient = await postToken({ grant_type: "password", ...ALICE }, { Authorization: basic("demo-backend", "not-its-secret") });
    expect(badClient.status).toBe(401);
    expect((await postToken({ grant_type: "password", ...ALICE }, BACKEND_BASIC)).status).toBe(200);

    // A second factor: a wrong code, a right one, a recovery code.
    const challenge = await mfaTokenFor();
    const wrongOtp = codeAt(DAVE_SECRET) === "000000" ? "111111" : "000000";
    const wrongCode = await postToken({ grant_type: MFA_OTP, mfa_token: challenge, otp: wrongOtp, ...SPA });
    expect(wrongCode.status).toBe(400);
    expect(((await wrongCode.json()) as { error: string }).error).toBe("invalid_grant");
    expect((await postToken({ grant_type: MFA_OTP, mfa_token: challenge, otp: codeAt(DAVE_SECRET), ...SPA })).status).toBe(200);
    const recovery = await postToken({
      grant_type: MFA_RECOVERY_CODE,
      mfa_token: await mfaTokenFor({ ...SPA, ...DAVE }),
      recovery_code: DAVE_RECOVERY_CODES[0]!,
      ...SPA,
    });
    expect(recovery.status).toBe(200);

    // The account page's reads, with the login app's client.
    await flushAudit();
    const web = await signIn({ ...ALICE, scope: "openid profile email offline_access account" }, { Authorization: basic("demo-web", "demo-web-secret") });
    for (const [route, path] of [
      [routes.accountProfile, "profile"],
      [routes.accountSessions, "sessions"],
      [routes.accountActivity, "activity"],
    ] as const) {
      expect((await call(route, `${ISSUER}/account/${path}`, { headers: { Authorization: `Bearer ${web.access_token}` } })).status, path).toBe(200);
    }

    // A mail kept for a user on its own (as the codes-locked warning is), sent, and a sweep.
    const [alice] = await sqlRows<{ id: string }>(db(), Prisma.sql`SELECT "id" FROM "User" WHERE "username" = ${ALICE.username}`);
    await noticeUser(alice!.id, { kind: "mfa_enabled" }, logger);
    await backgroundSettled();
    expect(devMailbox().map((mail) => mail.subject)).toContain("Two-step verification turned on for Default workspace");
    await deliverDueMails();

    await flushAudit();
    await pruneExpired(new Date(Date.now() + 400 * 86_400_000));

    expect(clientHasConnected(db())).toBe(false);
    // Nor constructs it (its model of the schema is 2.8 MB of heap).
    expect(clientWasMade(db())).toBe(false);
    // And the checks can tell: a query through the client makes and connects it.
    await db().user.count();
    expect(clientWasMade(db())).toBe(true);
    expect(clientHasConnected(db())).toBe(true);
  });
});
