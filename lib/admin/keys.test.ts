import { describe, expect, it } from "vitest";
import { AdminError } from "@/lib/admin/errors.ts";
import { listKeys, retireKey, rotateKey, rotationDelay } from "@/lib/admin/keys.ts";
import { db } from "@/lib/platform/db.ts";

describe("signing keys", () => {
  it("rotates: the new key is pending until the delay, and the one signing now cannot be retired unforced", async () => {
    const signing = (await listKeys()).find((k) => k.state === "signing");
    if (!signing) throw new Error("the seed has no signing key");
    const before = Date.now();
    const { keys, signsFrom } = await rotateKey(600);
    expect(signsFrom.getTime() - before).toBeGreaterThanOrEqual(600_000);
    expect(keys.map((k) => k.alg)).toEqual(["ES256", "RS256", "EdDSA"]);
    for (const { kid, alg } of keys) expect(await listKeys()).toContainEqual(expect.objectContaining({ kid, alg, state: "pending" }));
    const kid = keys[0]!.kid;

    const refused: unknown = await retireKey(signing.kid).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AdminError);
    expect((refused as AdminError).message).toMatch(new RegExp(`^key ${signing.kid} is signing`));

    await retireKey(kid, { force: true });
    expect(await listKeys()).toContainEqual(expect.objectContaining({ kid, state: "retired" }));
    // Both may carry the same millisecond: compared by name, not by time.
    const events = await db().auditEvent.findMany({ where: { event: { startsWith: "admin.key." } }, orderBy: { event: "asc" } });
    expect(events.map((e) => [e.event, e.reason])).toEqual([
      ["admin.key.retire", kid],
      ["admin.key.rotate", "delay 600s"],
    ]);
  });

  it.each([-1, 604801, "soon"])("refuses the delay %j", async (delay) => {
    expect(() => rotationDelay(delay)).toThrow(AdminError);
    if (typeof delay === "number") await expect(rotateKey(delay)).rejects.toThrow(AdminError);
  });
});
