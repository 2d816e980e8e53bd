import { Prisma } from "@/lib/generated/prisma/client.ts";
import { db, sqlRows } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import { APPLIED_MIGRATIONS_SQL, pendingMigrations, providerOf, shippedMigrations } from "@/lib/platform/migrations.ts";
import { keySet } from "@/lib/oauth/tokens/keys.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

// Health for load balancers and orchestrators: /healthz says the process answers, /readyz that it
// can serve (its database answers, every migration of this build is applied, a signing key is
// available). Both are cheap, never cached, not rate-limited and not audited: the production
// server answers them before anything else (lib/operations/server.ts); app/healthz and
// app/readyz serve them under `next dev`.

/** A health answer, as both servers send it. */
export interface HealthResponse {
  status: 200 | 503;
  headers: Record<string, string>;
  body: string;
}

const HEADERS = { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store" } as const;

// A check that does not answer within this is failed: a probe must not hang on a stuck database.
const CHECK_TIMEOUT_MS = 2000;

class NotReady extends Error {}

type Check = () => Promise<void>;

/** The readiness checks, in order: a check runs only when the ones before it passed. */
export const READINESS_CHECKS: ReadonlyArray<[name: string, check: Check]> = [
  [
    "database",
    async () => {
      await sqlRows(db(), Prisma.sql`SELECT 1 AS "one"`);
    },
  ],
  [
    "migrations",
    async () => {
      const applied = await sqlRows<{ migration_name: string }>(db(), Prisma.raw(APPLIED_MIGRATIONS_SQL));
      const pending = pendingMigrations(
        applied.map((r) => r.migration_name),
        shippedMigrations(providerOf(settings().DATABASE_URL)),
      );
      if (pending.length > 0) throw new NotReady(`${pending.length} pending`);
    },
  ],
  [
    "signing_key",
    async () => {
      // From the per-process cache (KEY_CACHE_SECONDS); the first load creates a key when none exists.
      (await keySet()).signer();
    },
  ],
];

export function liveness(): HealthResponse {
  return { status: 200, headers: { ...HEADERS }, body: JSON.stringify({ status: "ok" }) };
}

/** Runs the checks; 503 names the first that failed (its detail only when it is ours to tell, never an internal error). */
export async function readiness(checks: ReadonlyArray<[string, Check]> = READINESS_CHECKS): Promise<HealthResponse> {
  const results: Record<string, string> = {};
  let failed: string | undefined;
  for (const [name, check] of checks) {
    if (failed) {
      results[name] = "skipped";
      continue;
    }
    try {
      await withTimeout(check());
      results[name] = "ok";
    } catch (err) {
      failed = name;
      results[name] = err instanceof NotReady ? `failed: ${err.message}` : "failed";
      logger.warn({ event: "readiness.failed", check: name, err: messageOf(err) }, `not ready: ${name}`);
    }
  }
  const body = failed ? { status: "not_ready", failed, checks: results } : { status: "ready", checks: results };
  return { status: failed ? 503 : 200, headers: { ...HEADERS }, body: JSON.stringify(body) };
}

function withTimeout(work: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NotReady(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
