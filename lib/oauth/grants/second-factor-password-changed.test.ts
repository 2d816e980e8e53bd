import { randomUUID } from "node:crypto";
import { describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";
import { replacePassword } from "@/lib/oauth/store/users.ts";
import type * as Attempts from "@/lib/oauth/mfa/attempts.ts";
import { codeAt, MFA_OTP, mfaTokenFor } from "@/lib/testing/mfa.ts";
import { postToken, SPA } from "@/lib/testing/oauth.ts";

// A password changed at the second step of a sign-in, after its code was checked and before the
// sign-in wrote its session: the change ended the sign-in (with every session), so it gets none.
// (lib/oauth/grants/password-changed-meanwhile.test.ts: the same at the password step.)

const hooks: { beforeAdmission?: () => Promise<void>; afterCode?: () => Promise<void> } = {};

vi.mock("@/lib/oauth/mfa/attempts.ts", async (importOriginal) => {
  const real = await importOriginal<typeof Attempts>();
  return {
    ...real,
    admitUserAttempt: async (...args: Parameters<typeof real.admitUserAttempt>) => {
      await hooks.beforeAdmission?.();
      return real.admitUserAttempt(...args);
    },
    checkTotp: async (...args: Parameters<typeof real.checkTotp>) => {
      const outcome = await real.checkTotp(...args);
      await hooks.afterCode?.();
      return outcome;
    },
  };
});

const SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/** A new user with alice's password and a confirmed factor, at the second step of a sign-in: its mfa_token. */
async function atSecondStep(prefix: string) {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  const user = await db().user.create({ data: { workspaceId, username: `${prefix}-${randomUUID()}`, passwordHash } });
  await db().mfaFactor.create({ data: { userId: user.id, secret: SECRET, confirmedAt: new Date() } });
  return { user, mfaToken: await mfaTokenFor({ ...SPA, username: user.username, password: "alice-password-1" }) };
}

describe("a password changed while the second step of a sign-in runs", () => {
  it("gets no session: invalid_grant, the mfa_token ended with the change", async () => {
    const { user, mfaToken } = await atSecondStep("changing");
    const newHash = await hashPassword("a brand new passphrase");
    hooks.afterCode = async () => void (await db().$transaction((tx) => replacePassword(tx, user.id, newHash)));
    try {
      const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(SECRET) });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
    } finally {
      hooks.afterCode = undefined;
    }
    expect(await db().session.count({ where: { userId: user.id, endedAt: null } })).toBe(0);
    expect(await db().refreshToken.count({ where: { userId: user.id, revokedAt: null } })).toBe(0);
  });
});

describe("a user renamed at the second step of a sign-in, then their password changed", () => {
  it("gets no session: the password the sign-in checks against is the one of its challenge's user, not of whoever holds the name now", async () => {
    const { user, mfaToken } = await atSecondStep("renamed");
    const newHash = await hashPassword("a brand new passphrase");
    // Renamed after the challenge was read, before the attempt is admitted by the name it read.
    hooks.beforeAdmission = async () => void (await db().user.update({ where: { id: user.id }, data: { username: `${user.username}-now` } }));
    hooks.afterCode = async () => void (await db().$transaction((tx) => replacePassword(tx, user.id, newHash)));
    try {
      const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(SECRET) });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
    } finally {
      hooks.beforeAdmission = undefined;
      hooks.afterCode = undefined;
    }
    expect(await db().session.count({ where: { userId: user.id, endedAt: null } })).toBe(0);
    expect(await db().refreshToken.count({ where: { userId: user.id, revokedAt: null } })).toBe(0);
  });
});
