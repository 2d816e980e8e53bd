import { expect, it } from "vitest";
import { recordUnauthenticatedFailure } from "@/lib/platform/audit.ts";
import { inBackground } from "@/lib/platform/background.ts";
import { db } from "@/lib/platform/db.ts";
import { settleLeftoverWork } from "@/lib/platform/leftover-work.ts";
import { logger } from "@/lib/platform/logger.ts";

// A file of its own (as audit-shutdown.test.ts): the shutdown's flush is the only one.
it("stores the counted failures at shutdown before it waits for mail still under way, which the stop's deadline may cut short", async () => {
  let release = () => {};
  const mail = new Promise<void>((resolve) => (release = resolve));
  // A mail to a slow SMTP server, begun after an answer: the shutdown waits for it.
  inBackground("slow mail", () => mail, logger);
  // In a minute an hour ahead: the timer that writes a minute once it is over cannot write it meanwhile.
  recordUnauthenticatedFailure(
    { event: "test.shutdown.order", outcome: "failure", ip: "192.0.2.8", reason: "unknown client" },
    "192.0.2.8",
    Date.now() + 3_600_000,
  );
  const settled = settleLeftoverWork();
  try {
    await expect.poll(() => db().auditEvent.count({ where: { event: "test.shutdown.order" } }), { timeout: 2000 }).toBe(1);
  } finally {
    release();
    await settled;
  }
  expect(await db().auditEvent.findMany({ where: { event: "test.shutdown.order" }, select: { count: true } })).toEqual([{ count: 1 }]);
});
