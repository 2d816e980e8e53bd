import { afterEach, describe, expect, it, vi } from "vitest";
import { flushAudit, recordAudit } from "@/lib/audit.ts";
import { db } from "@/lib/db.ts";

afterEach(() => vi.useRealTimers());

describe("recordAudit", () => {
  it("stores the event within the flush interval, with the time it happened", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now: new Date("2030-01-02T03:04:05Z") });
    recordAudit({ event: "test.batched", outcome: "success", reason: "x".repeat(600) });
    expect(await db().auditEvent.count({ where: { event: "test.batched" } })).toBe(0);
    await vi.advanceTimersByTimeAsync(150);
    vi.useRealTimers();
    await flushAudit(); // waits for nothing if the timer's flush already wrote it
    const rows = await db().auditEvent.findMany({ where: { event: "test.batched" } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.createdAt.toISOString()).toBe("2030-01-02T03:04:05.000Z");
    expect(rows[0]!.reason).toHaveLength(512);
  });
});
