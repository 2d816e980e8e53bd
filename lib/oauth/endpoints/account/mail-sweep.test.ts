import { afterEach, describe, expect, it, vi } from "vitest";
import { backgroundSettled, inBackground, MAX_BACKGROUND_JOBS } from "@/lib/platform/background.ts";
import { db } from "@/lib/platform/db.ts";
import { settleLeftoverWork } from "@/lib/platform/leftover-work.ts";
import { logger } from "@/lib/platform/logger.ts";
import { devMailbox } from "@/lib/platform/mail.ts";
import type * as PendingMails from "@/lib/oauth/store/pending-mails.ts";
import { MAIL_SWEEP_MS, startMailSweep } from "@/lib/oauth/endpoints/account/notices.ts";
import { noticeUser } from "@/lib/testing/notices.ts";

// Every server's sweep of the kept mails, driven by its own timer: a sweep that fails (the
// database failing under it) is an error in the log, and the next one runs.

const hooks: { due?: () => Promise<void> } = {};

vi.mock("@/lib/oauth/store/pending-mails.ts", async (importOriginal) => {
  const real = await importOriginal<typeof PendingMails>();
  return {
    ...real,
    dueMails: async (...args: Parameters<typeof real.dueMails>) => {
      await hooks.due?.();
      return real.dueMails(...args);
    },
  };
});

afterEach(async () => {
  hooks.due = undefined;
  vi.useRealTimers();
  vi.restoreAllMocks();
  await settleLeftoverWork();
});

/** The sweep that the timer starts after `ms` (only setInterval is faked), run to its end. */
async function sweepAfter(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await (globalThis as Record<symbol, { running?: Promise<void> } | undefined>)[Symbol.for("ropc.mail-sweep")]?.running;
  await backgroundSettled();
}

describe("the mail sweep's timer", () => {
  it("logs a sweep that fails as mail.sweep_failed, and the next sweep mails what is due", async () => {
    const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
    const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
    const user = await db().user.create({ data: { workspaceId, username: "sven", passwordHash, email: "sven@example.com", emailVerified: true } });
    // Kept, not sent: its send after the answer finds the background jobs full.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    for (let i = 0; i < MAX_BACKGROUND_JOBS; i++) inBackground("held", () => held);
    try {
      await noticeUser(user.id, { kind: "mfa_enabled" }, logger.child({}));
    } finally {
      release();
    }
    await backgroundSettled();
    expect(await db().pendingMail.count({ where: { userId: user.id } })).toBe(1);
    const mailed = () => devMailbox().filter((mail) => mail.to === "sven@example.com");
    expect(mailed()).toEqual([]);

    vi.useFakeTimers({ toFake: ["setInterval"] });
    const errors = vi.spyOn(logger, "error");
    startMailSweep();
    hooks.due = () => Promise.reject(new Error("database unavailable"));
    await sweepAfter(MAIL_SWEEP_MS);
    expect(errors.mock.calls).toEqual([[{ event: "mail.sweep_failed", err: "database unavailable" }, "the sweep of mails due failed"]]);
    expect(mailed()).toEqual([]);

    hooks.due = undefined;
    await sweepAfter(MAIL_SWEEP_MS);
    expect(mailed().map((mail) => mail.subject)).toEqual(["Two-step verification turned on for Default workspace"]);
    expect(await db().pendingMail.count({ where: { userId: user.id } })).toBe(0);
    expect(errors.mock.calls).toHaveLength(1);
  });
});
