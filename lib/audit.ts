import { db } from "@/lib/db.ts";
import type { Prisma } from "@/lib/generated/prisma/client.ts";
import { logger, type Logger } from "@/lib/logger.ts";

/** One entry of the audit trail. Never a password, a secret or a token. */
export interface AuditRecord {
  event: string;
  outcome: "success" | "failure" | "locked";
  workspaceId?: string;
  clientId?: string;
  userId?: string;
  username?: string;
  ip?: string;
  userAgent?: string;
  reason?: string;
  requestId?: string;
}

const MAX_FIELD = 512;
const clip = (v: string | undefined) => (v === undefined ? undefined : v.slice(0, MAX_FIELD));

/**
 * Records an event in the database and as a structured log line. A failure to store it is
 * logged, never turned into a failure of the request that caused it.
 */
export async function audit(record: AuditRecord, log: Logger = logger, client: Prisma.TransactionClient = db()): Promise<void> {
  const data = {
    ...record,
    clientId: clip(record.clientId),
    username: clip(record.username),
    userAgent: clip(record.userAgent),
    reason: clip(record.reason),
  };
  log.info({ audit: data }, `audit ${record.event} ${record.outcome}`);
  try {
    await client.auditEvent.create({ data });
  } catch (err) {
    log.error({ err, event: record.event }, "could not store an audit event");
  }
}
