import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { confirmFactor, factorsOf, recoveryCodesLeft, removeFactors, replaceRecoveryCodes, startEnrolment } from "@/lib/oauth/store/mfa.ts";

// Double submissions: two requests of one user at once. On PostgreSQL (READ COMMITTED) each
// transaction's delete saw only what was committed before it, and both sets of rows stayed.
async function newUser(prefix: string) {
  const workspaceId = (await db().workspace.findFirstOrThrow()).id;
  return db().user.create({ data: { workspaceId, username: `${prefix}-${randomUUID()}`, passwordHash: "x" } });
}

describe("two changes of one user's second factor at once", () => {
  it("leave one pending factor of two enrolments", async () => {
    const user = await newUser("enrol");
    const pending: number[] = [];
    for (let round = 0; round < 10; round += 1) {
      await Promise.all([startEnrolment(user.id, "JBSWY3DPEHPK3PXP", ["a"]), startEnrolment(user.id, "KRSXG5CTMVRXEZLU", ["b"])]);
      pending.push((await factorsOf(user.id)).filter((f) => f.confirmedAt === null).length);
    }
    expect(pending).toEqual(Array(10).fill(1));
  });

  it("leave one set of recovery codes of two replacements", async () => {
    const user = await newUser("codes");
    const factorId = await startEnrolment(user.id, "JBSWY3DPEHPK3PXP", ["old"]);
    const left: number[] = [];
    for (let round = 0; round < 10; round += 1) {
      const set = (name: string) => Array.from({ length: 10 }, (_, i) => `${name}${round}-${i}`);
      await Promise.all([replaceRecoveryCodes(user.id, factorId, set("a")), replaceRecoveryCodes(user.id, factorId, set("b"))]);
      left.push(await recoveryCodesLeft(factorId));
    }
    expect(left).toEqual(Array(10).fill(10));
  });

  it("a confirmation of an enrolment replaced meanwhile confirms nothing, and says so", async () => {
    const user = await newUser("confirm");
    const first = await startEnrolment(user.id, "JBSWY3DPEHPK3PXP", ["a"]);
    // /mfa/associate again, after /mfa/confirm checked the first one's code and before it confirmed it.
    await startEnrolment(user.id, "KRSXG5CTMVRXEZLU", ["b"]);
    expect(await confirmFactor(user.id, first, new Date())).toBe("gone");
    expect((await factorsOf(user.id)).map((f) => f.confirmedAt)).toEqual([null]);
    // A factor confirmed already (two confirmations at once) is confirmed: both may say so.
    const second = (await factorsOf(user.id))[0]!.id;
    expect(await confirmFactor(user.id, second, new Date())).toBe("confirmed");
    expect(await confirmFactor(user.id, second, new Date())).toBe("already");
  });

  it("tell one removal of two that a confirmed factor went, whatever the caller read before: its owner is told once", async () => {
    const user = await newUser("remove");
    const factorId = await startEnrolment(user.id, "JBSWY3DPEHPK3PXP", ["r1", "r2"]);
    // /mfa/remove read the factor as pending; it was confirmed before the removal ran.
    expect(await confirmFactor(user.id, factorId, new Date())).toBe("confirmed");
    const both = await Promise.all([removeFactors(user.id), removeFactors(user.id)]);
    expect(both.map((r) => r.confirmed).sort()).toEqual([0, 1]);
    expect(await factorsOf(user.id)).toEqual([]);
    expect(await db().mfaRecoveryCode.count({ where: { factorId } })).toBe(0);
    // A pending enrolment removed: nothing confirmed went.
    await startEnrolment(user.id, "KRSXG5CTMVRXEZLU", ["p"]);
    expect(await removeFactors(user.id)).toEqual({ confirmed: 0 });
  });
});
