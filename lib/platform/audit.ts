import { v7 as uuidv7 } from "uuid";
import { db, sqlExecute } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { auditLogger, logger, type Logger } from "@/lib/platform/logger.ts";
import { countAuditEvent } from "@/lib/platform/metrics.ts";

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

// Ids in the order of time (UUID version 7, RFC 9562): each new row's key goes at the end of the
// id index, as its time does at the end of the createdAt one. A random id goes anywhere in an
// index as large as the trail: on a trail of a million rows, a batch of 200 wrote 520 pages and
// took 7 ms on SQLite, against 261 pages and 4 ms ordered.
function row(record: AuditRecord): Prisma.AuditEventCreateManyInput {
  return {
    ...record,
    id: uuidv7(),
    createdAt: new Date(),
    clientId: clip(record.clientId),
    username: clip(record.username),
    userAgent: clip(record.userAgent),
    reason: clip(record.reason),
  };
}

/**
 * Records an event inside a transaction (admin actions: it commits with the change) and as a
 * structured log line.
 */
export async function audit(record: AuditRecord, log: Logger = auditLogger, client: Prisma.TransactionClient = db()): Promise<void> {
  const data = row(record);
  log.info({ audit: data }, `audit ${record.event} ${record.outcome}`);
  await client.auditEvent.create({ data });
}

// Events of requests are written in batches: one insert per FLUSH_MS (or per MAX_BATCH events)
// instead of one per request on the token endpoint's hot path. The log line is written at once;
// a crash can lose at most the last FLUSH_MS of database rows, never the log lines. The queue
// lives on globalThis so that the server's own code (serve.ts) flushes what the bundled route
// code queued, at shutdown.
const FLUSH_MS = 100;
const MAX_BATCH = 200;
const state = ((globalThis as Record<symbol, unknown>)[Symbol.for("ropc.audit")] ??= {
  queue: [],
  timer: undefined,
  aggregates: new Map(),
  writing: new Set(),
}) as {
  queue: Prisma.AuditEventCreateManyInput[];
  /** Batches being written: a flush returns only once these are stored too. */
  writing: Set<Promise<void>>;
  timer: NodeJS.Timeout | undefined;
  /** Unauthenticated failures being counted, by minute, workspace, address and event. */
  aggregates: Map<string, { minute: number; row: Prisma.AuditEventCreateManyInput & { count: number } }>;
  minuteTimer?: NodeJS.Timeout;
  /** For the server's shutdown (serve.ts), which must not load the database layer itself. */
  flush?: () => Promise<void>;
};

/** Records an event of a request: a log line now, a database row within FLUSH_MS. */
export function recordAudit(record: AuditRecord, log: Logger = auditLogger): void {
  const data = row(record);
  log.info({ audit: data }, `audit ${record.event} ${record.outcome}`);
  countAuditEvent(record.event);
  state.queue.push(data);
  state.flush ??= flushAudit;
  if (state.queue.length >= MAX_BATCH) void flushAudit();
  else state.timer ??= setTimeout(() => void flushAudit({ finishedMinutesOnly: true }), FLUSH_MS);
}

const MAX_AGGREGATES = 10_000;

/**
 * Records an unauthenticated failure (unknown client, wrong secret, malformed request) as a count:
 * one row per minute, workspace, address and event, written when the minute is over. Junk must
 * not cost a row and a log line each (see request-budget.ts for the cap on the count).
 */
export function recordUnauthenticatedFailure(record: AuditRecord, group = record.ip ?? "", now = Date.now()): void {
  state.aggregates ??= new Map();
  // The shutdown's flush (leftover-work.ts) finds it here, also when nothing else was recorded.
  state.flush ??= flushAudit;
  const minute = Math.floor(now / 60_000);
  // By address group (an IPv6 /64 is one source): the row keeps the first address seen.
  const key = `${minute} ${record.workspaceId ?? ""} ${group} ${record.event}`;
  let aggregate = state.aggregates.get(key);
  if (!aggregate) {
    if (state.aggregates.size >= MAX_AGGREGATES) void flushAudit();
    aggregate = { minute, row: { ...row(record), createdAt: new Date(now), count: 0 } };
    state.aggregates.set(key, aggregate);
    flushWhenTheMinuteEnds(now);
  }
  aggregate.row.count += 1;
  aggregate.row.reason = clip(record.reason);
  // Who the attempts named is kept only while they all named the same: a user's activity list
  // (recentActivity) must not count attempts at other usernames or clients from the same address.
  const { row: r } = aggregate;
  if (r.username !== clip(record.username)) r.username = null;
  if (r.userId !== record.userId) r.userId = null;
  if (r.clientId !== clip(record.clientId)) r.clientId = null;
  if (r.userAgent !== clip(record.userAgent)) r.userAgent = null;
}

/** Writes the counted failures once their minute is over (one timer for all of them). */
function flushWhenTheMinuteEnds(now: number): void {
  state.minuteTimer ??= setTimeout(
    () => {
      state.minuteTimer = undefined;
      void flushAudit({ finishedMinutesOnly: true });
    },
    60_000 - (now % 60_000) + 50,
  ).unref();
}

/** The counted failures whose minute is over (or all of them), taken out for writing. */
function takeAggregates(all: boolean, now: number): Prisma.AuditEventCreateManyInput[] {
  const taken: Prisma.AuditEventCreateManyInput[] = [];
  const current = Math.floor(now / 60_000);
  for (const [key, { minute, row: r }] of state.aggregates ?? []) {
    if (!all && minute >= current) continue;
    state.aggregates.delete(key);
    auditLogger.info({ audit: r }, `audit ${r.event} ${r.outcome} x${r.count}`);
    taken.push(r);
  }
  if (!all && (state.aggregates?.size ?? 0) > 0) {
    flushWhenTheMinuteEnds(now);
  }
  return taken;
}

/**
 * Writes the queued events now (tests, shutdown, and readers that must see everything), with the
 * counted unauthenticated failures: all of them, or only those whose minute is over.
 */
export async function flushAudit({ finishedMinutesOnly = false }: { finishedMinutesOnly?: boolean } = {}): Promise<void> {
  state.flush ??= flushAudit;
  clearTimeout(state.timer);
  state.timer = undefined;
  const batch = [...state.queue.splice(0), ...takeAggregates(!finishedMinutesOnly, Date.now())];
  state.writing ??= new Set();
  if (batch.length > 0) {
    const writing = insertEvents(batch);
    state.writing.add(writing);
    void writing.finally(() => state.writing.delete(writing));
  }
  // A batch an earlier flush (the timer's) took may still be on its way to the database (always on
  // PostgreSQL): a reader that flushes must see it too.
  await Promise.all(state.writing);
}

const COLUMNS = [
  "id",
  "createdAt",
  "workspaceId",
  "clientId",
  "userId",
  "username",
  "ip",
  "userAgent",
  "event",
  "outcome",
  "reason",
  "requestId",
  "count",
] as const;
const INTO = Prisma.raw(`INSERT INTO "AuditEvent" (${COLUMNS.map((c) => `"${c}"`).join(", ")}) VALUES `);

/**
 * Rows per INSERT: a statement's parameters (13 a row) stay far below SQLite's 32,766 and
 * PostgreSQL's 65,535, whatever a flush holds (a minute's counts from thousands of addresses).
 */
const MAX_ROWS_PER_INSERT = 500;

/**
 * How often an event is tried before it is given up (its log line is written already): a database
 * that is busy for a moment (a lock another process holds, a fail-over) must not cost the trail
 * the events of that moment. A failed statement's events go back to the queue, for the next flush
 * (at most RETRY_MS later); a database that stays down costs at most STORE_ATTEMPTS tries each.
 */
const STORE_ATTEMPTS = 3;
const RETRY_MS = 1000;
const attempts = new WeakMap<Prisma.AuditEventCreateManyInput, number>();

/**
 * Multi-row INSERTs in plain, portable SQL, straight to the driver (`sqlExecute`): one for a
 * request queue's batch. Prisma's createMany compiles a new query plan for every batch size (the
 * plan cache is keyed by shape), which cost more CPU than the insert. A statement that fails is
 * logged with its number of events and tried again at the next flush (STORE_ATTEMPTS in all), and
 * the others are still written.
 */
async function insertEvents(batch: Prisma.AuditEventCreateManyInput[]): Promise<void> {
  for (let start = 0; start < batch.length; start += MAX_ROWS_PER_INSERT) {
    const part = batch.slice(start, start + MAX_ROWS_PER_INSERT);
    const rows = part.map((r) => Prisma.sql`(${Prisma.join(COLUMNS.map((c) => r[c] ?? (c === "count" ? 1 : null)))})`);
    try {
      // A statement that committed though its answer was lost (a connection cut) is tried again: its rows are skipped then.
      await sqlExecute(db(), Prisma.sql`${INTO}${Prisma.join(rows)} ON CONFLICT ("id") DO NOTHING`);
    } catch (err) {
      const attempt = attempts.get(part[0]!) ?? 1;
      if (attempt >= STORE_ATTEMPTS) {
        logger.error({ err, events: part.length, attempt }, "could not store audit events");
        continue;
      }
      logger.error({ err, events: part.length, attempt }, "could not store audit events: trying again");
      for (const r of part) attempts.set(r, attempt + 1);
      state.queue.unshift(...part);
      state.timer ??= setTimeout(() => void flushAudit({ finishedMinutesOnly: true }), RETRY_MS);
    }
  }
}
