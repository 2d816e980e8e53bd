import { describe, expect, it } from "vitest";
import { keySet } from "@/lib/oauth/tokens/keys.ts";
import { listSigningKeys, maxTokenLifetime, rotateSigningKey } from "@/lib/oauth/store/signing-keys.ts";

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

describe("signing at a key's activation", () => {
  it("signs with a key that became active earlier in the same second", async () => {
    const { createSigningKey } = await import("@/lib/oauth/store/signing-keys.ts");
    const { mintAccessToken } = await import("@/lib/oauth/tokens/mint.ts");
    const { findWorkspace } = await import("@/lib/oauth/store/workspaces.ts");
    const { decodeProtectedHeader } = await import("jose");
    const activeFrom = Math.floor(Date.now() / 1000) * 1000 + 2700; // .700 of a second to come
    const kid = await createSigningKey(undefined, new Date(activeFrom));
    await keySet(Date.now() + 5 * 10 ** 9); // past the cache bound: reloads
    const workspace = await findWorkspace("demo", "default");
    const token = await mintAccessToken({ workspace, clientId: "demo-spa", audiences: [], subject: "x", scope: ["openid"], ttl: 60, now: activeFrom + 100 });
    expect(decodeProtectedHeader(token.token).kid).toBe(kid);
  });
});
