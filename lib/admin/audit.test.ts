import { describe, expect, it } from "vitest";
import { prune, tailAudit, tailLimit } from "@/lib/admin/audit.ts";
import { AdminError } from "@/lib/admin/errors.ts";
import { setUserDisabled } from "@/lib/admin/users.ts";
import { recordAudit } from "@/lib/platform/audit.ts";

describe("the audit trail", () => {
  it("tails the latest matching events oldest first, including those still queued in this process", async () => {
    await setUserDisabled("demo/default", "bob", true);
    await setUserDisabled("demo/default", "bob", false);
    recordAudit({ event: "token.password", outcome: "failure", username: "bob", reason: "wrong password" });
    expect((await tailAudit({ username: "bob", limit: 3 })).map((e) => e.event)).toEqual(["admin.user.disable", "admin.user.enable", "token.password"]);
    expect((await tailAudit({ eventPrefix: "ADMIN.USER", limit: 1 })).map((e) => e.event)).toEqual(["admin.user.enable"]);
    expect((await tailAudit({ username: "bob", outcome: "failure", limit: 10 })).map((e) => e.reason)).toEqual(["wrong password"]);
  });

  it.each([0, 10001, "many"])("refuses the limit %j", async (limit) => {
    expect(() => tailLimit(limit)).toThrow(AdminError);
    if (typeof limit === "number") await expect(tailAudit({ limit })).rejects.toThrow(AdminError);
  });

  it("prunes, saying how many rows of each kind it deleted", async () => {
    expect(Object.keys(await prune()).sort()).toEqual([
      "accountTokens",
      "auditEvents",
      "clientAssertions",
      "dpopProofs",
      "failedLogins",
      "knownAddresses",
      "mfaChallenges",
      "pendingMails",
      "refreshTokens",
      "revokedAccessTokens",
      "sessions",
    ]);
  });
});
