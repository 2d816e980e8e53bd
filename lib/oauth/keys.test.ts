import { describe, expect, it } from "vitest";
import { keySet, listSigningKeys, maxTokenLifetime, rotateSigningKey } from "@/lib/oauth/keys.ts";

describe("key rotation", () => {
  it("keeps a superseded key published until every token it signed has expired", async () => {
    const now = Date.now();
    const old = (await keySet(now + 10 ** 9)).signer().kid;
    const fresh = await rotateSigningKey(0, undefined, new Date(now));
    const lifetime = (await maxTokenLifetime()) * 1000;
    const at = (ms: number) => listSigningKeys(undefined, new Date(ms)).then((keys) => Object.fromEntries(keys.map((k) => [k.kid, k.state])));
    expect(await at(now + 1000)).toMatchObject({ [fresh]: "signing", [old]: "verifying" });
    expect(await at(now + lifetime - 1000)).toMatchObject({ [old]: "verifying" });
    expect(await at(now + lifetime + 1000)).toMatchObject({ [fresh]: "signing", [old]: "expired" });
    expect((await keySet(now + 2 * 10 ** 9)).jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([fresh, old]));
  });
});
