import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addClient, deleteClient } from "@/lib/admin/clients.ts";
import type { Deletion } from "@/lib/admin/deletions.ts";
import { addUser, deleteUser } from "@/lib/admin/users.ts";
import { createWorkspace, deleteWorkspace, workspaceByRef } from "@/lib/admin/workspaces.ts";
import { db, isPostgresUrl } from "@/lib/platform/db.ts";
import { completePasswordReset, confirmEmail } from "@/lib/oauth/store/account-tokens.ts";
import { UserGone } from "@/lib/oauth/store/credentials.ts";
import { confirmFactor, removeFactors, replaceRecoveryCodes, startEnrolment } from "@/lib/oauth/store/mfa.ts";
import { mailKeptByChange } from "@/lib/oauth/store/pending-mails.ts";
import { connection, someoneWaitsFor } from "@/lib/testing/pg-locks.ts";

// An operator's deletion while the token endpoint writes for the same user or client. On
// PostgreSQL each takes row locks as it goes; when each waits for a row the other holds, the
// deadlock detector ends one of them: a sign-in or a refresh answered 500, or the deletion failed.
// The request side here is the endpoint's own statements on a connection of the test's, paused
// between them, with a deadlock timeout shorter than the deletion's: it is the request that would
// be ended, as it is whenever it began waiting first. SQLite has one writer at a time: two
// transactions never wait for each other there, so there is nothing to run on it.
const onPostgres = isPostgresUrl(process.env.DATABASE_URL ?? "");

describe.runIf(onPostgres)("a deletion and a request writing for the same user (PostgreSQL's row locks)", () => {
  let request: pg.Client;
  let requestPid: number;
  let ids: { workspace: string; ref: string; userId: string; clientId: string; username: string; client: string };

  beforeEach(async () => {
    ({ client: request, pid: requestPid } = await connection());
    const ref = `locks/w${randomUUID().slice(0, 8)}`;
    await createWorkspace({ ref, name: "Locks" });
    const username = "lock-user";
    const client = "lock-client";
    const { id: userId } = await addUser({ workspace: ref, username, password: "a lock test passphrase" });
    await addClient({ workspace: ref, clientId: client, grants: ["password", "refresh_token"], scopes: ["openid"], authMethods: ["client_secret_basic"] });
    const w = await workspaceByRef(ref);
    const { id: clientId } = await db().client.findUniqueOrThrow({ where: { workspaceId_clientId: { workspaceId: w.id, clientId: client } } });
    ids = { workspace: w.id, ref, userId, clientId, username, client };
  });

  afterEach(async () => {
    await request.end();
  });

  const begin = () => request.query("BEGIN").then(() => request.query("SET LOCAL deadlock_timeout = '100ms'"));

  /** The sign-in's first write (passwordStill): the user's row, while the password is the one checked. */
  const signInLocksTheUser = () => request.query(`UPDATE "User" SET "passwordHash" = "passwordHash" WHERE "id" = $1`, [ids.userId]);

  /** The sign-in's next writes: its session and first refresh token (references to the client and the user). */
  async function signInWrites(): Promise<void> {
    const sessionId = randomUUID();
    const expires = new Date(Date.now() + 3_600_000);
    await request.query(
      `INSERT INTO "Session" ("id", "workspaceId", "clientId", "userId", "amr", "authTime", "expiresAt") VALUES ($1, $2, $3, $4, 'pwd', $5, $6)`,
      [sessionId, ids.workspace, ids.clientId, ids.userId, Math.floor(Date.now() / 1000), expires],
    );
    await newRefreshToken(sessionId, expires);
  }

  const newRefreshToken = (familyId: string, expires: Date, tokenHash = randomUUID()) =>
    request.query(
      `INSERT INTO "RefreshToken" ("tokenHash", "familyId", "clientId", "userId", "scope", "authTime", "expiresAt") VALUES ($1, $2, $3, $4, 'openid', $5, $6)`,
      [tokenHash, familyId, ids.clientId, ids.userId, Math.floor(Date.now() / 1000), expires],
    );

  /** A refresh token stored before the request, and the rotation's first write: consuming it. */
  async function refreshConsumes(): Promise<string> {
    const familyId = randomUUID();
    const tokenHash = randomUUID();
    await db().session.create({
      data: {
        id: familyId,
        workspaceId: ids.workspace,
        clientId: ids.clientId,
        userId: ids.userId,
        amr: "pwd",
        authTime: BigInt(Math.floor(Date.now() / 1000)),
        expiresAt: new Date(Date.now() + 3_600_000),
      },
    });
    await db().refreshToken.create({
      data: {
        tokenHash,
        familyId,
        clientId: ids.clientId,
        userId: ids.userId,
        scope: "openid",
        authTime: BigInt(Math.floor(Date.now() / 1000)),
        expiresAt: new Date(Date.now() + 3_600_000),
      },
    });
    await begin();
    await request.query(`UPDATE "RefreshToken" SET "consumedAt" = now() WHERE "tokenHash" = $1 AND "consumedAt" IS NULL`, [tokenHash]);
    return familyId;
  }

  /** A user's factor with a recovery code and a sign-in's challenge, stored before the request. */
  async function secondFactor(): Promise<{ factorId: string; tokenHash: string }> {
    const tokenHash = randomUUID();
    const factor = await db().mfaFactor.create({
      data: { userId: ids.userId, secret: "JBSWY3DPEHPK3PXP", confirmedAt: new Date(), recoveryCodes: { create: [{ codeHash: "code" }] } },
    });
    await db().mfaChallenge.create({
      data: { tokenHash, workspaceId: ids.workspace, clientId: ids.clientId, userId: ids.userId, scope: "openid", expiresAt: new Date(Date.now() + 300_000) },
    });
    return { factorId: factor.id, tokenHash };
  }

  /** The second step's spending of the code and the challenge together (lib/oauth/store/mfa.ts): the code's first. */
  const spends: Record<string, (factorId: string) => Promise<unknown>> = {
    "a TOTP code": (factorId) => request.query(`UPDATE "MfaFactor" SET "lastUsedStep" = 1, "wrongCodes" = 0 WHERE "id" = $1`, [factorId]),
    "a recovery code": (factorId) => request.query(`DELETE FROM "MfaRecoveryCode" WHERE "factorId" = $1 AND "codeHash" = 'code'`, [factorId]),
  };
  const endChallenge = (tokenHash: string) => request.query(`DELETE FROM "MfaChallenge" WHERE "tokenHash" = $1`, [tokenHash]);

  const deletions: Record<string, () => Promise<Deletion>> = {
    "the workspace": () => deleteWorkspace(ids.ref),
    "the user": () => deleteUser(ids.ref, ids.username),
    "the client": () => deleteClient(ids.ref, ids.client),
  };

  /** Runs `deletion` against the request's open transaction; both must finish, the request's write first. */
  async function bothFinish(deletion: () => Promise<Deletion>, requestWrites: () => Promise<unknown>): Promise<void> {
    const deleted = deletion();
    deleted.catch(() => undefined);
    await someoneWaitsFor(requestPid);
    await requestWrites();
    await request.query("COMMIT");
    await deleted;
  }

  it.each(["the workspace", "the user"])("a sign-in holding its user's row finishes, then %s is deleted with what it wrote", async (what) => {
    await begin();
    await signInLocksTheUser();
    await bothFinish(deletions[what]!, signInWrites);
    expect(await db().session.count({ where: { userId: ids.userId } })).toBe(0);
    expect(await db().refreshToken.count({ where: { userId: ids.userId } })).toBe(0);
    expect(await db().user.count({ where: { id: ids.userId } })).toBe(0);
  });

  it.each(["the workspace", "the user", "the client"])("a refresh that consumed its token finishes, then %s is deleted with the new token", async (what) => {
    const familyId = await refreshConsumes();
    await bothFinish(deletions[what]!, () => newRefreshToken(familyId, new Date(Date.now() + 3_600_000)));
    expect(await db().refreshToken.count({ where: { familyId } })).toBe(0);
    expect(await db().session.count({ where: { id: familyId } })).toBe(0);
  });

  it.each(["the workspace", "the user", "the client"])(
    "a refresh that consumed its token finishes binding its session to a DPoP key, then %s is deleted with both",
    async (what) => {
      const familyId = await refreshConsumes();
      await bothFinish(deletions[what]!, () => request.query(`UPDATE "Session" SET "dpopJkt" = 'jkt' WHERE "id" = $1 AND "dpopJkt" IS NULL`, [familyId]));
      expect(await db().refreshToken.count({ where: { familyId } })).toBe(0);
      expect(await db().session.count({ where: { id: familyId } })).toBe(0);
    },
  );

  it.each(["the workspace", "the user", "the client"])(
    "a sign-out that revoked its session's tokens finishes ending the session, then %s is deleted with both",
    async (what) => {
      const familyId = await refreshConsumes();
      await request.query(`UPDATE "RefreshToken" SET "revokedAt" = now() WHERE "familyId" = $1 AND "revokedAt" IS NULL`, [familyId]);
      await bothFinish(deletions[what]!, () => request.query(`UPDATE "Session" SET "endedAt" = now() WHERE "id" = $1 AND "endedAt" IS NULL`, [familyId]));
      expect(await db().refreshToken.count({ where: { familyId } })).toBe(0);
      expect(await db().session.count({ where: { id: familyId } })).toBe(0);
    },
  );

  it.each([
    ["a TOTP code", "the workspace"],
    ["a TOTP code", "the user"],
    ["a recovery code", "the workspace"],
    ["a recovery code", "the user"],
  ])("a second step that spent %s finishes ending its challenge, then %s is deleted with it", async (code, what) => {
    const { factorId, tokenHash } = await secondFactor();
    await begin();
    await spends[code]!(factorId);
    await bothFinish(deletions[what]!, () => endChallenge(tokenHash));
    expect(await db().mfaChallenge.count({ where: { tokenHash } })).toBe(0);
    expect(await db().mfaFactor.count({ where: { id: factorId } })).toBe(0);
  });
});

// The other way round: the request is the code's own, the deletion the test's statements (its
// first, the user's row, and its last, the user deleted with everything that refers to it), with
// a deadlock timeout longer than the request's: were there a deadlock, the request would be ended.
describe.runIf(onPostgres)("a request that writes for a user takes the user's row first, as a deletion does", () => {
  let deletion: pg.Client;
  let deletionPid: number;

  beforeEach(async () => {
    ({ client: deletion, pid: deletionPid } = await connection());
  });

  afterEach(async () => {
    await deletion.end();
  });

  /** A user with a live link of `purpose`, and its hash. */
  async function userWithLink(purpose: "password_reset" | "email_verification") {
    const ref = `locks/w${randomUUID().slice(0, 8)}`;
    await createWorkspace({ ref, name: "Locks" });
    const { id: userId } = await addUser({ workspace: ref, username: "link-user", password: "a lock test passphrase" });
    const user = await db().user.findUniqueOrThrow({ where: { id: userId } });
    const tokenHash = randomUUID();
    await db().accountToken.create({
      data: { tokenHash, purpose, workspaceId: user.workspaceId, userId, email: "new@example.com", expiresAt: new Date(Date.now() + 3_600_000) },
    });
    return { user, tokenHash };
  }

  /** A user of the link's with a factor (confirmed or not). */
  async function userWithFactor(confirmed: boolean) {
    const { user } = await userWithLink("password_reset");
    const factorId = await startEnrolment(user.id, "JBSWY3DPEHPK3PXP", ["a"]);
    if (confirmed) await db().mfaFactor.update({ where: { id: factorId }, data: { confirmedAt: new Date() } });
    return { user, factorId };
  }

  // Each with the notice its change keeps: never kept for a user gone.
  const notice = (userId: string) => mailKeptByChange({ userId, job: "account.notice.test", body: "{}" });
  const requests: Record<string, () => Promise<{ userId: string; done: () => Promise<unknown>; outcome: unknown }>> = {
    "a password reset": async () => {
      const { user, tokenHash } = await userWithLink("password_reset");
      return {
        userId: user.id,
        done: () => completePasswordReset({ tokenHash, email: null }, user, "a new hash", notice(user.id)),
        outcome: { problem: "unknown" },
      };
    },
    "an address confirmation": async () => {
      const { user, tokenHash } = await userWithLink("email_verification");
      return { userId: user.id, done: () => confirmEmail(tokenHash, user.id, "new@example.com", () => notice(user.id)), outcome: { problem: "unknown" } };
    },
    "a factor's confirmation": async () => {
      const { user, factorId } = await userWithFactor(false);
      return { userId: user.id, done: () => confirmFactor(user.id, factorId, new Date(), notice(user.id)), outcome: "gone" };
    },
    "a factor's removal": async () => {
      const { user } = await userWithFactor(true);
      return { userId: user.id, done: () => removeFactors(user.id, notice(user.id)), outcome: { confirmed: 0 } };
    },
    "new recovery codes": async () => {
      const { user, factorId } = await userWithFactor(true);
      return {
        userId: user.id,
        done: () => replaceRecoveryCodes(user.id, factorId, ["b"], notice(user.id)).catch((err: unknown) => err),
        outcome: new UserGone(),
      };
    },
  };

  it.each(Object.keys(requests))("%s waits for the user's deletion, then finds the user gone", async (what) => {
    const { userId, done, outcome } = await requests[what]!();
    await deletion.query("BEGIN");
    await deletion.query("SET LOCAL deadlock_timeout = '10s'");
    await deletion.query(`UPDATE "User" SET "passwordHash" = "passwordHash" WHERE "id" = $1`, [userId]);
    const request = done();
    request.catch(() => undefined);
    await someoneWaitsFor(deletionPid);
    await deletion.query(`DELETE FROM "User" WHERE "id" = $1`, [userId]);
    await deletion.query("COMMIT");
    expect(await request).toEqual(outcome);
  });
});
