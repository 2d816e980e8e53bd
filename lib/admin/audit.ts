import { valid, wholeNumber } from "@/lib/admin/values.ts";
import type { AuditEvent } from "@/lib/generated/prisma/client.ts";
import { flushAudit, type AuditRecord } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { pruneExpired, type Pruned } from "@/lib/oauth/store/retention.ts";

export const AUDIT_OUTCOMES = ["success", "failure", "locked"] as const satisfies readonly AuditRecord["outcome"][];

/** How many events one tail may return (a number, or its decimal string). */
export function tailLimit(value: unknown): number {
  return valid(wholeNumber(1, 10000), value, "limit");
}

export interface AuditFilter {
  username?: string;
  outcome?: AuditRecord["outcome"];
  /** Events whose name starts with this, e.g. `token.password` or `admin.` */
  eventPrefix?: string;
  limit: number;
}

/** The latest events that match, oldest first; events still queued in this process included. */
export async function tailAudit(filter: AuditFilter): Promise<AuditEvent[]> {
  await flushAudit();
  const rows = await db().auditEvent.findMany({
    // Event names are lower-case; the prefix is lower-cased so that SQLite (whose LIKE ignores
    // ASCII case) and PostgreSQL (whose LIKE does not) select the same rows.
    where: { username: filter.username, outcome: filter.outcome, event: filter.eventPrefix ? { startsWith: filter.eventPrefix.toLowerCase() } : undefined },
    orderBy: { createdAt: "desc" },
    take: tailLimit(filter.limit),
  });
  return rows.reverse();
}

/**
 * Deletes what no longer counts (expired refresh tokens, sessions and denylist entries, old failed
 * sign-ins and known addresses, audit events past AUDIT_RETENTION_DAYS); returns how many of each.
 */
export async function prune(): Promise<Pruned> {
  await flushAudit();
  return pruneExpired();
}
