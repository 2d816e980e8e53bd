import { Prisma } from "@/lib/generated/prisma/client.ts";
import { describe, expect, it } from "vitest";
import { recordAudit } from "@/lib/platform/audit.ts";
import { inBackground } from "@/lib/platform/background.ts";
import { db, sqlRows } from "@/lib/platform/db.ts";
import { settleLeftoverWork } from "@/lib/platform/leftover-work.ts";
import { startPruning } from "@/lib/oauth/store/retention.ts";
import { startMailSweep } from "@/lib/oauth/endpoints/account/notices.ts";

const state = <T>(key: string) => (globalThis as Record<symbol, unknown>)[Symbol.for(key)] as T;

const stored = async (event: string) =>
  Number((await sqlRows<{ n: number | bigint }>(db(), Prisma.sql`SELECT COUNT(*) AS n FROM "AuditEvent" WHERE "event" = ${event}`))[0]!.n);

describe("settleLeftoverWork", () => {
  it("ends the background jobs, stores the audit rows still queued (theirs too) and stops the pruning and mail sweep timers: no timer is left to open the database", async () => {
    recordAudit({ event: "test.leftover.queued", outcome: "success" });
    inBackground("late audit", async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      recordAudit({ event: "test.leftover.background", outcome: "success" });
    });
    startPruning();
    startMailSweep();
    const sweep = state<{ timer?: NodeJS.Timeout }>("ropc.mail-sweep");
    expect(sweep.timer).toBeDefined();
    const audit = state<{ queue: unknown[]; timer?: NodeJS.Timeout }>("ropc.audit");
    const pruning = state<{ timer?: NodeJS.Timeout }>("ropc.pruning");
    expect(audit.timer).toBeDefined();
    expect(pruning.timer).toBeDefined();

    await settleLeftoverWork();

    expect(state<{ jobs: Set<unknown> }>("ropc.background").jobs.size).toBe(0);
    expect(audit.queue).toEqual([]);
    expect(audit.timer).toBeUndefined();
    expect(pruning.timer).toBeUndefined();
    expect(sweep.timer).toBeUndefined();
    expect(await stored("test.leftover.queued")).toBe(1);
    expect(await stored("test.leftover.background")).toBe(1);
  });
});
