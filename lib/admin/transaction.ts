import type { Prisma } from "@/lib/generated/prisma/client.ts";
import { audit } from "@/lib/platform/audit.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { againOnConflict, CONFLICT_ATTEMPTS } from "@/lib/platform/database-timeout.ts";
import { db } from "@/lib/platform/db.ts";

/** What the audit event of an admin change says besides its name. */
export interface ChangeDetails {
  workspaceId?: string;
  userId?: string;
  username?: string;
  reason?: string;
  /** Who made it, when not an operator at the CLI: the client that called the registration endpoint. */
  actor?: string;
}

// Who made an admin change, in the audit event's clientId: no OAuth client has this id.
export const ADMIN_ACTOR = "cli";

/**
 * How long an admin change may run: Prisma ends an interactive transaction after 5 s by default,
 * and on PostgreSQL a `key seal` over 20,000 TOTP secrets took longer (measured), so it failed
 * and changed nothing. On SQLite the timer cannot fire while the work runs (synchronous).
 */
export const ADMIN_CHANGE_TIMEOUT_MS = 10 * 60_000;

/** How many times an admin change is run when the database ends it for a conflict (see change). */
export const CHANGE_ATTEMPTS = CONFLICT_ATTEMPTS;

/**
 * One admin change: one transaction with its audit event (`admin.{event}`) inside it, so that
 * all of it happens or none. Once it is committed this process's caches are cleared, so that
 * this process sees the change at once; other instances see it within CONFIG_CACHE_SECONDS.
 * When PostgreSQL ends the transaction to break a deadlock with requests writing the same rows
 * (or for a serialization failure), nothing of it stayed and `work` is run again, up to
 * CHANGE_ATTEMPTS times in all (againOnConflict): `work` reads what it changes inside the transaction.
 */
export async function change<T>(
  event: string,
  details: ChangeDetails | ((done: T) => ChangeDetails),
  work: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  const result = await againOnConflict(() =>
    db().$transaction(
      async (tx) => {
        const done = await work(tx);
        const { actor, ...said } = typeof details === "function" ? details(done) : details;
        await audit({ event: `admin.${event}`, outcome: "success", clientId: actor ?? ADMIN_ACTOR, ...said }, undefined, tx);
        return done;
      },
      { timeout: ADMIN_CHANGE_TIMEOUT_MS },
    ),
  );
  clearCaches("settings");
  return result;
}
