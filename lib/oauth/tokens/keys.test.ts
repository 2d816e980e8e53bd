import { describe, expect, it } from "vitest";
import { keySet } from "@/lib/oauth/tokens/keys.ts";
import { listSigningKeys, maxTokenLifetime, rotateSigningKey } from "@/lib/oauth/store/signing-keys.ts";

describe("key rotation", () => {
  it("keeps a superseded key published until every token it signed has expired", async () => {
    const now = Date.now();
    const old = (await keySet(now + 10 ** 9)).signer().kid;
    const [fresh] = await rotateSigningKey(0, undefined, new Date(now));
    if (!fresh) throw new Error("no key rotated");
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

// Each reload reads past the cache bound of the previous one (the key cache is per process).
describe("keys per algorithm", () => {
  it("rotates every algorithm together, each superseding only its own kind; both kinds stay published and signing", async () => {
    const now = Date.now();
    const keys = await keySet(now + 10 ** 11);
    const old = { ES256: keys.signer("ES256").kid, RS256: keys.signer("RS256").kid, EdDSA: keys.signer("EdDSA").kid };
    expect(new Set(Object.values(old)).size).toBe(3);
    const [es, rs, ed] = await rotateSigningKey(0, undefined, new Date(now));
    const states = Object.fromEntries((await listSigningKeys(undefined, new Date(now + 1000))).map((k) => [k.kid, [k.alg, k.state]]));
    expect(states).toMatchObject({
      [es!]: ["ES256", "signing"],
      [rs!]: ["RS256", "signing"],
      [ed!]: ["EdDSA", "signing"],
      [old.ES256]: ["ES256", "verifying"],
      [old.RS256]: ["RS256", "verifying"],
      [old.EdDSA]: ["EdDSA", "verifying"],
    });
    const after = await keySet(now + 2 * 10 ** 11);
    expect(after.signer("RS256", now + 1000)).toMatchObject({ kid: rs, alg: "RS256" });
    expect(after.signer("ES256", now + 1000)).toMatchObject({ kid: es, alg: "ES256" });
    expect(after.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([es, rs, ed, old.ES256, old.RS256, old.EdDSA]));
  });

  it("gives a key for verification only under its own algorithm", async () => {
    const keys = await keySet(Date.now() + 3 * 10 ** 11);
    const rsa = keys.signer("RS256").kid;
    expect(keys.verifier(rsa, "RS256")).toBeDefined();
    expect(keys.verifier(rsa, "ES256")).toBeUndefined();
    expect(keys.verifier(keys.signer("ES256").kid, "ES256")).toBeDefined();
  });

  it("imports each key once: a reload reuses the imported key objects", async () => {
    const first = await keySet(Date.now() + 4 * 10 ** 11);
    const second = await keySet(Date.now() + 5 * 10 ** 11);
    expect(second).not.toBe(first);
    const kid = first.signer("RS256").kid;
    expect(second.signer("RS256").key).toBe(first.signer("RS256").key);
    expect(second.verifier(kid, "RS256")).toBe(first.verifier(kid, "RS256"));
  });
});
