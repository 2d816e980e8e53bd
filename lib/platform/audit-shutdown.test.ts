import { expect, it } from "vitest";
import { recordUnauthenticatedFailure } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { settleLeftoverWork } from "@/lib/platform/leftover-work.ts";

// A file of its own: the process must have recorded nothing else (a junk flood in the first
// minute after a start, then a stop).
it("stores the counted unauthenticated failures at shutdown when they are all the process recorded", async () => {
  recordUnauthenticatedFailure({ event: "test.shutdown.junk", outcome: "failure", ip: "192.0.2.7", reason: "unknown client" });
  recordUnauthenticatedFailure({ event: "test.shutdown.junk", outcome: "failure", ip: "192.0.2.7", reason: "unknown client" });
  await settleLeftoverWork();
  expect(await db().auditEvent.findMany({ where: { event: "test.shutdown.junk" }, select: { count: true, ip: true } })).toEqual([
    { count: 2, ip: "192.0.2.7" },
  ]);
});
