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

  it("keeps a batch that could not be stored for the next flush, saying so; gives it up after 3 tries", async () => {
    const error = vi.spyOn(logger, "error");
    writes.fail = true;
    recordAudit({ event: "test.flush.retried", outcome: "success" });
    await expect(flushAudit()).resolves.toBeUndefined();
    expect(error).toHaveBeenCalledWith({ err: new Error("the database is gone"), events: 1, attempt: 1 }, "could not store audit events: trying again");
    writes.fail = false;
    recordAudit({ event: "test.flush.next", outcome: "success" });
    await flushAudit();
    expect(await db().auditEvent.count({ where: { event: { in: ["test.flush.retried", "test.flush.next"] } } })).toBe(2);

    error.mockClear();
    writes.fail = true;
    recordAudit({ event: "test.flush.lost", outcome: "success" });
    for (let i = 0; i < 3; i++) await flushAudit();
    expect(error.mock.calls.map(([, message]) => message)).toEqual([
      "could not store audit events: trying again",
      "could not store audit events: trying again",
      "could not store audit events",
    ]);
    expect(error).toHaveBeenLastCalledWith({ err: new Error("the database is gone"), events: 1, attempt: 3 }, "could not store audit events");
    writes.fail = false;
    await flushAudit();
    expect(await db().auditEvent.count({ where: { event: "test.flush.lost" } })).toBe(0);
    error.mockRestore();
  });
});
