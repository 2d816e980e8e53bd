import { describe, expect, it, vi } from "vitest";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { db } from "@/lib/platform/db.ts";
import { devMailbox } from "@/lib/platform/mail.ts";
import { routes } from "@/lib/oauth/routes.ts";
import type * as PendingMails from "@/lib/oauth/store/pending-mails.ts";
import { captureRequestLogs } from "@/lib/testing/logs.ts";
import { basic, call, ISSUER, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";

// A notice that could not even be kept (the database failing just after the change it reports):
// the change stands, and the operator sees an error naming the user.

const hooks: { keep?: () => Promise<void> } = {};

vi.mock("@/lib/oauth/store/pending-mails.ts", async (importOriginal) => {
  const real = await importOriginal<typeof PendingMails>();
  return {
    ...real,
    keepMail: async (...args: Parameters<typeof real.keepMail>) => {
      await hooks.keep?.();
      return real.keepMail(...args);
    },
  };
});

const PASSWORD = "alice-password-1";
const NEW_PASSWORD = "an unkept-notice passphrase 3";

describe("a notice that cannot be kept", () => {
  it("is an error naming the user, and the change it reports stands", async () => {
    const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
    const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
    const user = await db().user.create({ data: { workspaceId, username: "ulla", passwordHash, email: "ulla@example.com", emailVerified: true } });
    const token = (await signIn({ username: "ulla", password: PASSWORD, scope: "openid account" }, { Authorization: basic("demo-web", "demo-web-secret") }))
      .access_token;
    const lines = captureRequestLogs();
    const mailed = devMailbox().length;
    hooks.keep = () => Promise.reject(new Error("database unavailable"));
    try {
      const res = await call(routes.accountPassword, `${ISSUER}/account/password`, {
        body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(204);
    } finally {
      hooks.keep = undefined;
    }
    await backgroundSettled();
    expect(lines().filter((line) => line.level === 50)).toEqual([
      expect.objectContaining({ event: "account.notice.password_changed.dropped", userId: user.id, err: "database unavailable" }),
    ]);
    expect(devMailbox()).toHaveLength(mailed);
    expect(await db().pendingMail.count({ where: { userId: user.id } })).toBe(0);
    expect((await postToken({ grant_type: "password", ...SPA, username: "ulla", password: NEW_PASSWORD })).status).toBe(200);
  });
});
