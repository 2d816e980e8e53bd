import { describe, expect, it, vi } from "vitest";
import { flushAudit, recordAudit } from "@/lib/platform/audit.ts";
import * as database from "@/lib/platform/db.ts";
import { logger } from "@/lib/platform/logger.ts";

const { db } = database;

const writes = vi.hoisted(() => ({ fail: false }));

// Every write of the audit trail reaches the database a while after it was asked for, as on
// PostgreSQL under load: a flush must still return only once what it or an earlier flush took is stored.
vi.mock("@/lib/platform/db.ts", async (original) => {
  const real = await original<typeof database>();
  return {
    ...real,
    sqlExecute: async (...args: Parameters<typeof real.sqlExecute>) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (writes.fail) throw new Error("the database is gone");
      return real.sqlExecute(...args);
    },
  };
});

describe("flushAudit", () => {
  it("returns once a batch an earlier flush took (the timer's) is stored", async () => {
    expect(await db().auditEvent.count({ where: { event: "test.flush.inflight" } })).toBe(0); // connected before the clock starts
    recordAudit({ event: "test.flush.inflight", outcome: "failure" });
    const timers = flushAudit({ finishedMinutesOnly: true }); // as the timer does: it takes the queue
    await flushAudit(); // a reader's flush, with nothing left in the queue
    expect(await db().auditEvent.count({ where: { event: "test.flush.inflight" } })).toBe(1);
    await timers;
  });

  it("returns once its own batch is stored", async () => {
    recordAudit({ event: "test.flush.own", outcome: "success" });
    await flushAudit();
    expect(await db().auditEvent.count({ where: { event: "test.flush.own" } })).toBe(1);
  });

  it("resolves when a batch cannot be stored, logs it as an error, and stores the next one", async () => {
    const error = vi.spyOn(logger, "error");
    writes.fail = true;
    recordAudit({ event: "test.flush.lost", outcome: "success" });
    await expect(flushAudit()).resolves.toBeUndefined();
    expect(error).toHaveBeenCalledWith({ err: new Error("the database is gone"), events: 1 }, "could not store audit events");
    error.mockRestore();
    writes.fail = false;
    recordAudit({ event: "test.flush.next", outcome: "success" });
    await flushAudit();
    expect(await db().auditEvent.count({ where: { event: { in: ["test.flush.lost", "test.flush.next"] } } })).toBe(1);
  });
});
