import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AdminError } from "@/lib/admin/errors.ts";
import { listKeys, retireKey, rotateKey, rotationDelay } from "@/lib/admin/keys.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { keySet } from "@/lib/oauth/tokens/keys.ts";

/** Only a fresh key of every algorithm, which became active at `activeFrom`; its ES256 key. */
async function onlyKeysFrom(activeFrom: number): Promise<{ kid: string }> {
  await db().signingKey.deleteMany();
  const { keys } = await rotateKey(0);
  await db().signingKey.updateMany({ data: { activeFrom: new Date(activeFrom) } });
  return keys.find((k) => k.alg === "ES256")!;
}

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

  it("force-retiring the signing key never brings back an older key that had stopped being published", async () => {
    const hour = 3_600_000;
    const now = Date.now();
    // The seed's ES256 key, then one that superseded it two hours ago: the seed's has expired.
    const seedKey = (await listKeys()).find((k) => k.alg === "ES256" && k.state === "signing")!;
    await db().signingKey.update({ where: { kid: seedKey.kid }, data: { activeFrom: new Date(now - 3 * hour) } });
    const { keys } = await rotateKey(0);
    const superseding = keys.find((k) => k.alg === "ES256")!.kid;
    await db().signingKey.update({ where: { kid: superseding }, data: { activeFrom: new Date(now - 2 * hour) } });
    expect(await listKeys()).toContainEqual(expect.objectContaining({ kid: seedKey.kid, state: "expired" }));
    // The runbook after a leak: rotate, then force-retire the key that signs.
    const { keys: fresh } = await rotateKey(600);
    await retireKey(superseding, { force: true });
    expect(await listKeys()).toContainEqual(expect.objectContaining({ kid: seedKey.kid, state: "expired" }));
    clearCaches();
    const set = await keySet();
    expect(set.jwks().keys.map((k) => k.kid)).not.toContain(seedKey.kid);
    expect(set.jwks().keys.map((k) => k.kid)).not.toContain(superseding);
    // The new key signs at once rather than a leaked one: until it is due, nothing else can.
    expect(set.signer("ES256").kid).toBe(fresh.find((k) => k.alg === "ES256")!.kid);
  });

  it("force-retiring the signing key while its predecessor still verifies: the predecessor never signs again", async () => {
    const hour = 3_600_000;
    const now = Date.now();
    // An ES256 key, superseded half an hour ago: it still verifies the tokens it signed.
    const seedKey = await onlyKeysFrom(now - 3 * hour);
    const { keys } = await rotateKey(0);
    const superseding = keys.find((k) => k.alg === "ES256")!.kid;
    await db().signingKey.update({ where: { kid: superseding }, data: { activeFrom: new Date(now - hour / 2) } });
    expect(await listKeys()).toContainEqual(expect.objectContaining({ kid: seedKey.kid, state: "verifying" }));
    // The runbook after a leak: rotate, then force-retire the key that signs.
    const { keys: fresh } = await rotateKey(600);
    await retireKey(superseding, { force: true });
    clearCaches();
    const set = await keySet();
    // Still published (its tokens verify), but the new key signs, not the one superseded.
    expect(set.jwks().keys.map((k) => k.kid)).toContain(seedKey.kid);
    expect(set.signer("ES256").kid).toBe(fresh.find((k) => k.alg === "ES256")!.kid);
  });

  it.each([
    ["still verifies", 0.5],
    ["has expired", 2],
  ])("force-retiring the signing key without a rotation first: a new key signs at once, never the older one that %s", async (_, hoursAgo) => {
    const hour = 3_600_000;
    const now = Date.now();
    await onlyKeysFrom(now - 3 * hour);
    const { keys } = await rotateKey(0);
    const superseding = keys.find((k) => k.alg === "ES256")!.kid;
    await db().signingKey.update({ where: { kid: superseding }, data: { activeFrom: new Date(now - hoursAgo * hour) } });

    const { replacements } = await retireKey(superseding, { force: true });
    expect(replacements.map((k) => k.alg)).toEqual(["ES256"]);
    const replacement = replacements[0]!.kid;
    expect(await listKeys()).toContainEqual(expect.objectContaining({ kid: replacement, alg: "ES256", state: "signing" }));
    clearCaches();
    const set = await keySet();
    expect(set.signer("ES256").kid).toBe(replacement);
    expect(set.jwks().keys.map((k) => k.kid)).not.toContain(superseding);
    // The other algorithms' keys were not touched.
    expect(set.signer("RS256").kid).toBe(keys.find((k) => k.alg === "RS256")!.kid);
  });

  it("a server finds an algorithm with no key that may sign (retired elsewhere, by hand) and makes one, never signing with a superseded key", async () => {
    const hour = 3_600_000;
    const now = Date.now();
    const seedKey = await onlyKeysFrom(now - 3 * hour);
    const { keys } = await rotateKey(0);
    const superseding = keys.find((k) => k.alg === "ES256")!.kid;
    await db().signingKey.update({ where: { kid: superseding }, data: { activeFrom: new Date(now - hour / 2), retiredAt: new Date(now) } });
    clearCaches();
    const signer = (await keySet()).signer("ES256");
    expect([seedKey.kid, superseding]).not.toContain(signer.kid);
    expect(await listKeys()).toContainEqual(expect.objectContaining({ kid: signer.kid, alg: "ES256", state: "signing" }));
  });

  it("force-retires a signing key that needs no replacement (a pending key takes over) whatever this shell's KEY_ENCRYPTION_KEY", async () => {
    const now = Date.now();
    const signing = await onlyKeysFrom(now - 3_600_000);
    await rotateKey(600);
    const s = settings() as { KEY_ENCRYPTION_KEY?: string };
    // The keys are stored plain; this shell has a key: nothing is made, so nothing to seal.
    s.KEY_ENCRYPTION_KEY = randomBytes(32).toString("base64");
    try {
      expect(await retireKey(signing.kid, { force: true })).toEqual({ replacements: [] });
    } finally {
      delete s.KEY_ENCRYPTION_KEY;
    }
  });

  it("refuses to seal new keys beside keys stored unsealed (run key seal first), and changes nothing", async () => {
    const s = settings() as { KEY_ENCRYPTION_KEY?: string };
    const count = await db().signingKey.count();
    s.KEY_ENCRYPTION_KEY = randomBytes(32).toString("base64");
    try {
      const refused: unknown = await rotateKey(0).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(AdminError);
      expect((refused as AdminError).message).toBe(
        "The signing keys are stored unsealed, and this shell has KEY_ENCRYPTION_KEY: run `key seal` with the servers' value first, or unset it here as it is on the servers; nothing was changed",
      );
    } finally {
      delete s.KEY_ENCRYPTION_KEY;
    }
    expect(await db().signingKey.count()).toBe(count);
  });

  it.each([-1, 604801, "soon", "", " 60", "0x10", "1e3", "60.5", 1.5])("refuses the delay %j", async (delay) => {
    expect(() => rotationDelay(delay)).toThrow(AdminError);
    if (typeof delay === "number") await expect(rotateKey(delay)).rejects.toThrow(AdminError);
  });
});
