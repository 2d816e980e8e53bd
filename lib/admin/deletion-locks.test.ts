import { randomUUID } from "node:crypto";
import type pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { addClient, deleteClient } from "@/lib/admin/clients.ts";
import type { Deletion } from "@/lib/admin/deletions.ts";
import { addUser, deleteUser } from "@/lib/admin/users.ts";
import { createWorkspace, deleteWorkspace, workspaceByRef } from "@/lib/admin/workspaces.ts";
import { db, isPostgresUrl } from "@/lib/platform/db.ts";
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
});
