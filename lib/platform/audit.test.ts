import { afterEach, describe, expect, it, vi } from "vitest";
import { flushAudit, recordAudit, recordUnauthenticatedFailure } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";

afterEach(() => vi.useRealTimers());

describe("recordAudit", () => {
  it("stores the event within the flush interval, with the time it happened", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: new Date("2030-01-02T03:04:05Z") });
    recordAudit({ event: "test.batched", outcome: "success", reason: "x".repeat(600) });
    expect(await db().auditEvent.count({ where: { event: "test.batched" } })).toBe(0);
    await vi.advanceTimersByTimeAsync(150);
    vi.useRealTimers();
    await flushAudit(); // and for the timer's flush, if its write is still under way
    const rows = await db().auditEvent.findMany({ where: { event: "test.batched" } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.createdAt.toISOString()).toBe("2030-01-02T03:04:05.000Z");
    expect(rows[0]!.reason).toHaveLength(512);
  });

  it("keys events by time-ordered ids (UUID version 7): each one after the last, its time the event's", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2030-01-02T03:04:05.678Z") });
    for (let i = 0; i < 50; i++) recordAudit({ event: "test.ordered", outcome: "success", requestId: String(i).padStart(2, "0") });
    vi.useRealTimers();
    await flushAudit();
    const rows = await db().auditEvent.findMany({ where: { event: "test.ordered" }, orderBy: { requestId: "asc" } });
    expect(rows).toHaveLength(50);
    for (const [i, { id }] of rows.entries()) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // The first 48 bits are the milliseconds since the epoch (RFC 9562 §5.7).
      expect(parseInt(id.replace(/-/g, "").slice(0, 12), 16)).toBe(Date.parse("2030-01-02T03:04:05.678Z"));
      if (i > 0) expect(id > rows[i - 1]!.id).toBe(true);
    }
  });

  it("stores a batch of events field by field, absent fields as NULL", async () => {
    const full = {
      event: "test.batch.full",
      outcome: "failure",
      workspaceId: "w-1",
      clientId: "c-1",
      userId: "u-1",
      username: "ann",
      ip: "192.0.2.1",
      userAgent: "ua/1",
      reason: "wrong password",
      requestId: "r-1",
    } as const;
    recordAudit(full);
    for (let i = 0; i < 3; i++) recordAudit({ event: "test.batch.bare", outcome: "locked" });
    await flushAudit();
    const rows = await db().auditEvent.findMany({ where: { event: { startsWith: "test.batch." } }, orderBy: { event: "desc" } });
    expect(rows).toHaveLength(4);
    const { id, createdAt, ...fields } = rows.find((r) => r.event === "test.batch.full")!;
    expect(fields).toEqual({ ...full, count: 1 });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(createdAt.getTime() - Date.now())).toBeLessThan(60_000);
    const bare = rows.filter((r) => r.event === "test.batch.bare");
    expect(new Set(bare.map((r) => r.id)).size).toBe(3);
    for (const r of bare)
      expect([r.workspaceId, r.clientId, r.userId, r.username, r.ip, r.userAgent, r.reason, r.requestId]).toEqual([
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
      ]);
  });
});

describe("a flush of many counted failures", () => {
  it("stores a minute's counts from thousands of address groups, and the events queued with them", async () => {
    // More rows than one statement may carry parameters for (13 a row: SQLite takes 32,766, PostgreSQL 65,535).
    const groups = 6_000;
    const lastMinute = Date.now() - 60_000;
    for (let i = 0; i < groups; i++) {
      const group = `2001:db8:1:${i.toString(16)}::/64`;
      recordUnauthenticatedFailure(
        { event: "test.many.junk", outcome: "failure", ip: `2001:db8:1:${i.toString(16)}::1`, reason: "unknown client" },
        group,
        lastMinute,
      );
    }
    recordAudit({ event: "test.many.sign-in", outcome: "success", username: "alice" });
    await flushAudit();
    expect(await db().auditEvent.count({ where: { event: "test.many.junk" } })).toBe(groups);
    expect(await db().auditEvent.count({ where: { event: "test.many.sign-in" } })).toBe(1);
  });
});
