import { db, sqlExecute, sqlLimit, sqlRows } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { newestFirst, type AttemptHistory } from "@/lib/oauth/model/user.ts";

/** Whose failure: a password for a username, or a secret for a client, from an address group. */
export interface FailureKey {
  workspaceId: string;
  kind: "user" | "client";
  name: string;
  ip: string;
}

/** Counts a failure (with the id the attempt was known by in memory). */
export async function recordFailure(id: string, key: FailureKey, at: Date): Promise<void> {
  await sqlExecute(
    db(),
    Prisma.sql`INSERT INTO "FailedLogin" ("id", "workspaceId", "kind", "username", "ip", "createdAt") VALUES (${id}, ${key.workspaceId}, ${key.kind}, ${key.name}, ${key.ip}, ${at})`,
  );
}

/** Forgets a name's failures from an address group (it has just succeeded there). */
export async function forgiveFailures(key: FailureKey): Promise<void> {
  await sqlExecute(
    db(),
    Prisma.sql`DELETE FROM "FailedLogin" WHERE "workspaceId" = ${key.workspaceId} AND "kind" = ${key.kind} AND "username" = ${key.name} AND "ip" = ${key.ip}`,
  );
}

interface FailureRow extends Record<string, unknown> {
  id: string;
  username: string;
  createdAt: Date | string;
}

/**
 * The newest client-secret failures from an address group, and `clientId`'s own newest there:
 * what `admitAttempt` needs for a client.
 */
export async function clientAttemptHistory(workspaceId: string, address: string, clientId: string): Promise<AttemptHistory> {
  const rows = await sqlRows<FailureRow>(
    db(),
    Prisma.sql`SELECT * FROM (SELECT f."id", f."username", f."createdAt" FROM "FailedLogin" f
        WHERE f."workspaceId" = ${workspaceId} AND f."ip" = ${address} AND f."kind" = 'client'
        ORDER BY f."createdAt" DESC ${sqlLimit(settings().LOCKOUT_IP_LIMIT + 1)}) AS "recent"
      UNION ALL
      SELECT * FROM (SELECT m."id", m."username", m."createdAt" FROM "FailedLogin" m
        WHERE m."workspaceId" = ${workspaceId} AND m."ip" = ${address} AND m."username" = ${clientId} AND m."kind" = 'client'
        ORDER BY m."createdAt" DESC ${sqlLimit(settings().LOCKOUT_USER_IP_LIMIT + 1)}) AS "mine"`,
  );
  return {
    failures: newestFirst(rows.map((r) => ({ id: r.id, username: r.username, at: new Date(r.createdAt).getTime() }))),
    account: { count: 0, oldest: null },
    knownSince: null,
  };
}

/** Drops counted failures older than the window (they no longer count). */
export async function pruneFailures(now = new Date()): Promise<number> {
  const since = new Date(now.getTime() - settings().LOCKOUT_WINDOW_SECONDS * 1000);
  return sqlExecute(db(), Prisma.sql`DELETE FROM "FailedLogin" WHERE "createdAt" < ${since}`);
}
