import { createPrivateKey, generateKeyPairSync, generatePrimeSync, randomBytes, randomUUID, sign } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { CLOCK_SKEW_SECONDS } from "@/lib/oauth/tokens/verify.ts";
import * as oauth from "oauth4webapi";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { setClient } from "@/lib/admin/clients.ts";
import { setWorkspace } from "@/lib/admin/workspaces.ts";
import { findWorkspace } from "@/lib/oauth/store/workspaces.ts";
import { currentDpopNonce, DPOP_NONCE_SECRET, DPOP_NONCE_WINDOW_MS, isAcceptedDpopNonce } from "@/lib/oauth/dpop/nonce.ts";
import { serverSecret } from "@/lib/oauth/store/server-secrets.ts";
import { captureRequestLogs } from "@/lib/testing/logs.ts";
import { SEALED_PREFIX } from "@/lib/platform/at-rest.ts";
import { accessTokenHash, MAX_DPOP_PROOF_LENGTH } from "@/lib/oauth/dpop/proof.ts";
import { serveOAuth } from "@/lib/oauth/pipeline/node-adapter.ts";
import type { BeforeRotation } from "@/lib/testing/rotation-race.ts";
import { codeAt, DAVE, DAVE_RECOVERY_CODES, DAVE_SECRET, MFA_OTP, MFA_RECOVERY_CODE, mfaTokenFor } from "@/lib/testing/mfa.ts";
import {
  ALICE,
  BACKEND_BASIC,
  basic,
  call,
  callUserinfo,
  expectNoStore,
  getDiscovery,
  inProcessFetch,
  introspect,
  ISSUER,
  postIntrospect,
  postToken,
  routeContext,
  SERVICE_BASIC,
  SPA,
  TOKEN_URL,
} from "@/lib/testing/oauth.ts";

// DPoP (RFC 9449) against the real endpoints: proofs made here with jose, and oauth4webapi's
// DPoP handle driving the password grant, a refresh and userinfo.

// Races at a refresh's rotation: another request, or another key's binding, just before it begins.
const race = vi.hoisted(() => ({ beforeRotation: undefined as BeforeRotation | undefined }));
vi.mock("@/lib/oauth/store/refresh-tokens.ts", async (original) => (await import("@/lib/testing/rotation-race.ts")).raceBeforeRotation(await original(), race));

const USERINFO_URL = `${ISSUER}/userinfo`;
const ALGS = 'algs="ES256 RS256 PS256 EdDSA"';

interface Key {
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
  jkt: string;
}

async function newKey(alg = "ES256"): Promise<Key> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(pair.publicKey);
  return { alg, ...pair, jwk, jkt: await calculateJwkThumbprint(jwk, "sha256") };
}

interface ProofOptions {
  htm?: string;
  htu?: string;
  iat?: number;
  jti?: string;
  ath?: string;
  nonce?: string;
  typ?: string;
  alg?: string;
  jwk?: JWK;
  claims?: Record<string, unknown>;
}

/** A DPoP proof (RFC 9449 §4.2) by `key`, for the token endpoint unless told otherwise. */
function proof(key: Key, o: ProofOptions = {}): Promise<string> {
  const payload = {
    jti: o.jti ?? randomUUID(),
    htm: o.htm ?? "POST",
    htu: o.htu ?? TOKEN_URL,
    iat: o.iat ?? Math.floor(Date.now() / 1000),
    ...(o.ath === undefined ? {} : { ath: o.ath }),
    ...(o.nonce === undefined ? {} : { nonce: o.nonce }),
    ...o.claims,
  };
  return new SignJWT(payload).setProtectedHeader({ alg: o.alg ?? key.alg, typ: o.typ ?? "dpop+jwt", jwk: o.jwk ?? key.jwk }).sign(key.privateKey);
}

const password = (headers: Record<string, string>, client: Record<string, string> = SPA, auth: Record<string, string> = {}) =>
  postToken({ grant_type: "password", scope: "openid profile offline_access", ...client, ...ALICE }, { ...auth, ...headers });

async function dpopSignIn(key: Key, client: Record<string, string> = SPA, auth: Record<string, string> = {}) {
  const res = await password({ DPoP: await proof(key) }, client, auth);
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; refresh_token: string; token_type: string };
}

const userinfo = async (key: Key, token: string, o: ProofOptions = {}) =>
  callUserinfo({ headers: { Authorization: `DPoP ${token}`, DPoP: await proof(key, { htm: "GET", htu: USERINFO_URL, ath: accessTokenHash(token), ...o }) } });

async function expectTokenError(res: Response, error: string) {
  expect(res.status).toBe(400);
  expectNoStore(res);
  expect((await res.json()).error).toBe(error);
}

async function expectResourceError(res: Response, error: string) {
  expect(res.status).toBe(401);
  expect((await res.json()).error).toBe(error);
  const challenge = res.headers.get("www-authenticate") ?? "";
  expect(challenge).toMatch(new RegExp(`^DPoP realm="${ISSUER}", error="${error}", error_description="[^"]+", ${ALGS}$`));
}

/** base64url of a big-endian unsigned integer (a JWK's RSA members, RFC 7518 §6.3). */
function base64urlUint(value: bigint): string {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex").toString("base64url");
}

/** x⁻¹ mod m (extended Euclid), or undefined when they share a factor. */
function inverse(x: bigint, m: bigint): bigint | undefined {
  let [a, b, u, v] = [((x % m) + m) % m, m, 1n, 0n];
  while (b !== 0n) {
    const q = a / b;
    [a, b, u, v] = [b, a - q * b, v, u - q * v];
  }
  return a === 1n ? ((u % m) + m) % m : undefined;
}

/**
 * An RSA-2048 private key whose public exponent is about as long as its modulus: no library makes
 * one (Node's stop at 2^32), so it is built from two primes, with a random private exponent whose
 * inverse is the public one. Verifying with it costs tens of times what 65537 costs.
 */
function rsaKeyWithLongExponent(): { privateKey: ReturnType<typeof createPrivateKey>; jwk: JWK } {
  for (;;) {
    const [p, q] = [generatePrimeSync(1024, { bigint: true }), generatePrimeSync(1024, { bigint: true })];
    const phi = (p - 1n) * (q - 1n);
    const d = BigInt(`0x${randomBytes(255).toString("hex")}`) | 1n;
    const e = inverse(d, phi);
    const qi = inverse(q, p);
    if (e === undefined || qi === undefined || e.toString(2).length < 2000) continue;
    const members = { n: p * q, e, d, p, q, dp: d % (p - 1n), dq: d % (q - 1n), qi };
    const jwk = Object.fromEntries(Object.entries(members).map(([name, value]) => [name, base64urlUint(value)]));
    return { privateKey: createPrivateKey({ key: { kty: "RSA", ...jwk }, format: "jwk" }), jwk: { kty: "RSA", n: jwk.n, e: jwk.e } };
  }
}

/** A proof signed by hand (jose will not use every key a client may send). */
function handSignedProof(alg: string, jwk: JWK, privateKey: Parameters<typeof sign>[2], claims: Record<string, unknown> = {}): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const input = `${part({ alg, typ: "dpop+jwt", jwk })}.${part({ jti: randomUUID(), htm: "POST", htu: TOKEN_URL, iat: Math.floor(Date.now() / 1000), ...claims })}`;
  return `${input}.${sign("sha256", Buffer.from(input), privateKey).toString("base64url")}`;
}

let key: Key;
beforeAll(async () => {
  key = await newKey();
});

describe("DPoP at the token endpoint (RFC 9449 §5)", () => {
  it("discovery lists the proof algorithms (§5.1)", async () => {
    expect((await (await getDiscovery()).json()).dpop_signing_alg_values_supported).toEqual(["ES256", "RS256", "PS256", "EdDSA"]);
  });

  it.each(["ES256", "RS256", "PS256", "EdDSA"])("binds the access token to a %s key: token_type DPoP, cnf.jkt its thumbprint", async (alg) => {
    const k = await newKey(alg);
    const tokens = await dpopSignIn(k);
    expect(tokens.token_type).toBe("DPoP");
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: k.jkt });
  });

  it("issues bearer tokens, with no cnf, when no proof is sent", async () => {
    const res = await password({});
    const tokens = await res.json();
    expect(tokens.token_type).toBe("bearer");
    expect(decodeJwt(tokens.access_token).cnf).toBeUndefined();
  });

  it("refuses a replayed proof: a jti is good once (§11.1)", async () => {
    const dpop = await proof(key);
    expect((await password({ DPoP: dpop })).status).toBe(200);
    await expectTokenError(await password({ DPoP: dpop }), "invalid_dpop_proof");
  });

  it("accepts an htu with a query or fragment, and a differently written host (§4.3 normalization)", async () => {
    for (const htu of [
      `${TOKEN_URL}?x=1`,
      `${TOKEN_URL}#f`,
      "HTTP://LOCALHOST:3000/demo/default/oauth2/token",
      "http://localhost:3000/demo/default/oauth2/./token",
      // Percent-encoded unreserved characters (RFC 3986 §6.2.2.2): %74 is t, %64 d, %6F o.
      "http://localhost:3000/demo/default/oauth2/%74oken",
      "http://localhost:3000/demo/%64efault/oauth2/t%6Fken",
    ]) {
      expect((await password({ DPoP: await proof(key, { htu }) })).status).toBe(200);
    }
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each<[string, () => Promise<Record<string, string>>]>([
    ["another URL", async () => ({ DPoP: await proof(key, { htu: `${ISSUER}/oauth2/revoke` }) })],
    ["another host", async () => ({ DPoP: await proof(key, { htu: "https://evil.example/demo/default/oauth2/token" }) })],
    ["an htu that is no URL", async () => ({ DPoP: await proof(key, { htu: "token" }) })],
    // A reserved character percent-encoded is another URL (RFC 3986 §2.2): %2F is not a path's /.
    ["an htu with an encoded slash", async () => ({ DPoP: await proof(key, { htu: `${ISSUER}/oauth2%2Ftoken` }) })],
    ["another method", async () => ({ DPoP: await proof(key, { htm: "GET" }) })],
    ["a stale iat", async () => ({ DPoP: await proof(key, { iat: now() - 60 - 31 }) })],
    ["an iat in the future", async () => ({ DPoP: await proof(key, { iat: now() + 60 }) })],
    ["no jti", async () => ({ DPoP: await proof(key, { claims: { jti: undefined } }) })],
    ["an overlong jti", async () => ({ DPoP: await proof(key, { jti: "j".repeat(257) }) })],
    ["another typ", async () => ({ DPoP: await proof(key, { typ: "JWT" }) })],
    ["a private key in its jwk", async () => ({ DPoP: await proof(key, { jwk: await exportJWK(key.privateKey) }) })],
    ["a jwk that did not sign it", async () => ({ DPoP: await proof(key, { jwk: (await newKey()).jwk }) })],
    [
      "an HMAC (HS256)",
      async () => {
        const secret = new TextEncoder().encode("a shared secret of thirty-two by");
        return {
          DPoP: await new SignJWT({ jti: randomUUID(), htm: "POST", htu: TOKEN_URL, iat: now() })
            .setProtectedHeader({ alg: "HS256", typ: "dpop+jwt", jwk: key.jwk })
            .sign(secret),
        };
      },
    ],
    [
      "alg none",
      async () => {
        const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        return { DPoP: `${part({ alg: "none", typ: "dpop+jwt", jwk: key.jwk })}.${part({ jti: randomUUID(), htm: "POST", htu: TOKEN_URL, iat: now() })}.` };
      },
    ],
    ["two DPoP headers", async () => ({ DPoP: `${await proof(key)}, ${await proof(key)}` })],
    [
      "an RSA key under 2048 bits",
      async () => {
        // jose will not make or use one: signed by hand.
        const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
        const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const input = `${part({ alg: "RS256", typ: "dpop+jwt", jwk: small.publicKey.export({ format: "jwk" }) })}.${part({ jti: randomUUID(), htm: "POST", htu: TOKEN_URL, iat: now() })}`;
        return { DPoP: `${input}.${sign("sha256", Buffer.from(input), small.privateKey).toString("base64url")}` };
      },
    ],
    ["a symmetric jwk", async () => ({ DPoP: await proof(key, { jwk: { kty: "oct", k: "c2VjcmV0" } }) })],
    ["a jwk that is a string", async () => ({ DPoP: await proof(key, { jwk: "key" as unknown as JWK }) })],
    [
      "no jwk",
      async () => ({
        DPoP: await new SignJWT({ jti: randomUUID(), htm: "POST", htu: TOKEN_URL, iat: now() })
          .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt" })
          .sign(key.privateKey),
      }),
    ],
    ["an alg outside the list (ES384)", async () => ({ DPoP: await proof(await newKey("ES384")) })],
    ["an oversized proof", async () => ({ DPoP: await proof(key, { claims: { pad: "x".repeat(MAX_DPOP_PROOF_LENGTH) } }) })],
    ["no JWT at all", async () => ({ DPoP: "not-a-jwt" })],
  ])("refuses a proof with %s: 400 invalid_dpop_proof", async (_, headers) => {
    await expectTokenError(await password(await headers()), "invalid_dpop_proof");
  });

  it.each([
    ["an iat past the proof's age", { iat: -(60 + 31) }, "the DPoP proof's iat is not recent"],
    ["an exp past, its iat recent", { claims: { exp: -(CLOCK_SKEW_SECONDS + 1) } }, "the DPoP proof has expired (its exp is past)"],
  ])("says what is wrong with %s", async (_, offsets, description) => {
    const at = now();
    const o = "iat" in offsets ? { iat: at + offsets.iat } : { claims: { exp: at + offsets.claims.exp } };
    const res = await password({ DPoP: await proof(key, o) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_dpop_proof", error_description: description });
  });

  it.each([
    [
      "an exponent as long as its modulus (a verification tens of times 65537's)",
      () => {
        const { privateKey, jwk } = rsaKeyWithLongExponent();
        return handSignedProof("RS256", jwk, privateKey);
      },
      "the DPoP proof's RSA exponent must be under 2^32 (65537, as every library makes it)",
    ],
    [
      "a modulus over 4096 bits",
      () => {
        const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const jwk = publicKey.export({ format: "jwk" }) as JWK;
        return handSignedProof("RS256", { ...jwk, n: Buffer.concat([Buffer.from([0xc1]), randomBytes(512)]).toString("base64url") }, privateKey);
      },
      "the DPoP proof's RSA key may have at most 4096 bits",
    ],
  ])("refuses an RSA key with %s before verifying with it: 400 invalid_dpop_proof", async (_, made, description) => {
    const res = await password({ DPoP: made() });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_dpop_proof", error_description: description });
  });

  it.each(["DPoP+JWT", "application/dpop+jwt"])("takes typ %s: a media type, compared as one (RFC 7515 §4.1.9)", async (typ) => {
    const res = await password({ DPoP: await proof(key, { typ }) });
    expect(res.status).toBe(200);
    expect((await res.json()).token_type).toBe("DPoP");
  });

  it("takes an RSA key with exponent 65537 up to 4096 bits", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 4096 });
    const res = await password({ DPoP: handSignedProof("RS256", publicKey.export({ format: "jwk" }) as JWK, privateKey) });
    expect(res.status).toBe(200);
    expect((await res.json()).token_type).toBe("DPoP");
  });

  it("binds a public client's refresh token: a refresh needs a proof by the same key (§5)", async () => {
    const tokens = await dpopSignIn(key);
    const refresh = (headers: Record<string, string>) => postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA }, headers);
    await expectTokenError(await refresh({}), "invalid_dpop_proof");
    await expectTokenError(await refresh({ DPoP: await proof(await newKey()) }), "invalid_grant");
    const res = await refresh({ DPoP: await proof(key) });
    expect(res.status).toBe(200);
    const next = await res.json();
    expect(next.token_type).toBe("DPoP");
    expect(decodeJwt(next.access_token).cnf).toEqual({ jkt: key.jkt });
    // The binding holds for the whole family.
    await expectTokenError(
      await postToken({ grant_type: "refresh_token", refresh_token: next.refresh_token, ...SPA }, { DPoP: await proof(await newKey()) }),
      "invalid_grant",
    );
  });

  it("binds a public client's refresh token from its first refresh with a proof, when the sign-in had none (§5)", async () => {
    const unbound = await password({});
    expect(unbound.status).toBe(200);
    const tokens = await unbound.json();
    const res = await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA }, { DPoP: await proof(key) });
    expect(res.status).toBe(200);
    const next = await res.json();
    expect(next.token_type).toBe("DPoP");
    expect(decodeJwt(next.access_token).cnf).toEqual({ jkt: key.jkt });
    // From here on the family is the key's: no proof, or another key's, is refused.
    const refresh = (headers: Record<string, string>) => postToken({ grant_type: "refresh_token", refresh_token: next.refresh_token, ...SPA }, headers);
    await expectTokenError(await refresh({}), "invalid_dpop_proof");
    await expectTokenError(await refresh({ DPoP: await proof(await newKey()) }), "invalid_grant");
    expect((await refresh({ DPoP: await proof(key) })).status).toBe(200);
  });

  it("binds the family to one key when two refreshes with different keys race on an unbound token", async () => {
    const tokens = await (await password({})).json();
    const [a, b] = [key, await newKey()];
    const answers = await Promise.all(
      [a, b].map(async (k) => postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA }, { DPoP: await proof(k) })),
    );
    const won = answers.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    const winner = await won[0]!.json();
    const winnerKey = decodeJwt(winner.access_token).cnf as { jkt: string };
    const loserKey = winnerKey.jkt === a.jkt ? b : a;
    const refresh = async (k: Key) => postToken({ grant_type: "refresh_token", refresh_token: winner.refresh_token, ...SPA }, { DPoP: await proof(k) });
    await expectTokenError(await refresh(loserKey), "invalid_grant");
  });

  it("ends the family when a refresh loses the race to bind it to its key: one token presented twice at once is reuse", async () => {
    const tokens = await (await password({})).json();
    const other = await newKey();
    race.beforeRotation = (_tokenHash, { familyId }) => db().session.update({ where: { id: familyId }, data: { dpopJkt: other.jkt } });
    const refresh = async (k: Key) => postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA }, { DPoP: await proof(k) });
    const logged = captureRequestLogs();
    try {
      await expectTokenError(await refresh(key), "invalid_grant");
      expect(logged()).toContainEqual(expect.objectContaining({ event: "token.reuse_detected", family: expect.any(String) }));
    } finally {
      vi.restoreAllMocks();
    }
    // The request that bound it gets nothing more from the token: the family is over.
    await expectTokenError(await refresh(other), "invalid_grant");
    expect(await introspect(tokens.refresh_token)).toEqual({ active: false });
  });

  // The other order of the same race: one request reads the family while another's refresh of the
  // same token, with another key, is under way. It must never read the family bound to the other
  // key while the token is still unconsumed (it would take itself for a stale key, not for reuse).
  describe.each([0, 10])("one token refreshed at once with two keys (REFRESH_REUSE_GRACE_SECONDS=%i)", (grace) => {
    it("ends the family, whichever request gets there first: one token presented twice at once is reuse", async () => {
      vi.spyOn(settings(), "REFRESH_REUSE_GRACE_SECONDS", "get").mockReturnValue(grace);
      const tokens = await (await password({})).json();
      const other = await newKey();
      const refresh = async (k: Key) => postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA }, { DPoP: await proof(k) });
      let first: Response | undefined;
      race.beforeRotation = async () => {
        first = await refresh(other);
      };
      const logged = captureRequestLogs();
      let second: Response;
      try {
        second = await refresh(key);
        expect(logged()).toContainEqual(expect.objectContaining({ event: "token.reuse_detected", family: expect.any(String) }));
      } finally {
        vi.restoreAllMocks();
      }
      // The request that read the token first, then waited, is the one refused: the other, that
      // came in between, was answered; but the family it got its tokens from is over.
      expect(first?.status).toBe(200);
      await expectTokenError(second, "invalid_grant");
      const won = await first!.json();
      expect(decodeJwt(won.access_token).cnf).toEqual({ jkt: other.jkt });
      await expectTokenError(
        await postToken({ grant_type: "refresh_token", refresh_token: won.refresh_token, ...SPA }, { DPoP: await proof(other) }),
        "invalid_grant",
      );
      expect(await introspect(won.refresh_token)).toEqual({ active: false });
    });
  });

  it("treats a consumed bound refresh token presented without its proof as reuse: the family dies", async () => {
    const tokens = await dpopSignIn(key);
    const next = await (await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA }, { DPoP: await proof(key) })).json();
    await expectTokenError(await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA }), "invalid_grant");
    await expectTokenError(
      await postToken({ grant_type: "refresh_token", refresh_token: next.refresh_token, ...SPA }, { DPoP: await proof(key) }),
      "invalid_grant",
    );
  });

  // A family is bound by whoever refreshes it first with a proof: a thief who took a refresh
  // token of an unbound sign-in and got there first binds it to the thief's key. The victim's
  // next refresh presents the consumed token without that key, and that must still be reuse,
  // the only thing that ends the thief's session: a keyless presentation of a consumed token is
  // not refused on its binding alone.
  it.each<[string, "none" | "own key"]>([
    ["without a proof", "none"],
    ["with the victim's own key", "own key"],
  ])("ends a family a thief bound first when the victim presents the consumed token %s", async (_, victim) => {
    const tokens = await (await password({})).json();
    const thief = await newKey();
    const stolen = await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA }, { DPoP: await proof(thief) });
    expect(stolen.status).toBe(200);
    const thiefs = (await stolen.json()) as { refresh_token: string };
    const logged = captureRequestLogs();
    try {
      const headers: Record<string, string> = victim === "none" ? {} : { DPoP: await proof(await newKey()) };
      await expectTokenError(await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token, ...SPA }, headers), "invalid_grant");
      expect(logged()).toContainEqual(expect.objectContaining({ event: "token.reuse_detected", family: expect.any(String) }));
    } finally {
      vi.restoreAllMocks();
    }
    expect(await introspect(thiefs.refresh_token)).toEqual({ active: false });
  });

  it("binds a sign-in's mfa_token to the password step's key: the second step proves the same one", async () => {
    const second = await newKey();
    const started = await postToken({ grant_type: "password", ...SPA, ...DAVE, scope: "openid offline_access" }, { DPoP: await proof(key) });
    expect(started.status).toBe(403);
    const { mfa_token } = (await started.json()) as { mfa_token: string };
    const otp = (headers: Record<string, string>) => postToken({ grant_type: MFA_OTP, ...SPA, mfa_token, otp: codeAt(DAVE_SECRET) }, headers);
    // Without a proof: no unbound tokens; with another key's: refused; neither spends the token or a code.
    const unproven = await otp({});
    expect(unproven.status).toBe(400);
    expect(await unproven.json()).toEqual({ error: "invalid_dpop_proof", error_description: "this mfa_token is bound to a DPoP key: send a DPoP proof by it" });
    const another = await otp({ DPoP: await proof(second) });
    expect(another.status).toBe(400);
    expect(await another.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
    const done = await otp({ DPoP: await proof(key) });
    expect(done.status).toBe(200);
    const body = (await done.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe("DPoP");
    expect(decodeJwt(body.access_token).cnf).toEqual({ jkt: key.jkt });
    // A sign-in begun without a proof is not bound: its second step may bring one, or none.
    const unbound = await mfaTokenFor();
    const later = await postToken(
      { grant_type: MFA_OTP, ...SPA, mfa_token: unbound, otp: codeAt(DAVE_SECRET, Date.now() + 30_000) },
      { DPoP: await proof(second) },
    );
    expect(later.status).toBe(200);
  });

  it("does not bind a confidential client's refresh token, but binds each access token a proof asks for (§5)", async () => {
    const tokens = await dpopSignIn(key, { client_id: "demo-backend" }, BACKEND_BASIC);
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: key.jkt });
    const bearer = await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }, BACKEND_BASIC);
    expect(bearer.status).toBe(200);
    const next = await bearer.json();
    expect(next.token_type).toBe("bearer");
    const other = await newKey();
    const bound = await postToken({ grant_type: "refresh_token", refresh_token: next.refresh_token }, { ...BACKEND_BASIC, DPoP: await proof(other) });
    expect(decodeJwt((await bound.json()).access_token).cnf).toEqual({ jkt: other.jkt });
  });

  it("binds a client_credentials token, and introspection shows the binding (§6.2)", async () => {
    const res = await postToken({ grant_type: "client_credentials", scope: "introspect_tokens" }, { ...SERVICE_BASIC, DPoP: await proof(key) });
    const { access_token, token_type } = await res.json();
    expect(token_type).toBe("DPoP");
    expect(await introspect(access_token)).toMatchObject({ active: true, token_type: "DPoP", cnf: { jkt: key.jkt } });
    const plain = await (await password({})).json();
    const unbound = await introspect(plain.access_token);
    expect(unbound.token_type).toBe("bearer");
    expect(unbound.cnf).toBeUndefined();
  });

  it("refuses a token request without a proof from a client with dpop_bound_access_tokens (§5.2)", async () => {
    await setClient("demo/default", "demo-spa", { dpopBoundAccessTokens: true });
    clearCaches("settings");
    try {
      await expectTokenError(await password({}), "invalid_dpop_proof");
      expect((await password({ DPoP: await proof(key) })).status).toBe(200);
    } finally {
      await setClient("demo/default", "demo-spa", { dpopBoundAccessTokens: false });
      clearCaches("settings");
    }
  });

  it("takes dpop_bound_access_tokens at dynamic registration and answers it (RFC 7591, RFC 9449 §5.2)", async () => {
    const cc = await postToken({ grant_type: "client_credentials", scope: "register_clients" }, SERVICE_BASIC);
    const { access_token } = await cc.json();
    const res = await call(routes.registration, `${ISSUER}/oauth2/register`, {
      method: "POST",
      body: JSON.stringify({
        grant_types: ["password"],
        token_endpoint_auth_method: "none",
        scope: "openid profile offline_access",
        dpop_bound_access_tokens: true,
      }),
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${access_token}` },
    });
    expect(res.status).toBe(201);
    const client = await res.json();
    expect(client.dpop_bound_access_tokens).toBe(true);
    await expectTokenError(await password({}, { client_id: client.client_id }), "invalid_dpop_proof");
    expect((await password({ DPoP: await proof(key) }, { client_id: client.client_id })).status).toBe(200);
  });
});

describe("DPoP at the resource endpoints (RFC 9449 §7)", () => {
  it("serves userinfo to a bound token with the DPoP scheme and a proof carrying ath", async () => {
    const { access_token } = await dpopSignIn(key);
    const res = await userinfo(key, access_token);
    expect(res.status).toBe(200);
    expect((await res.json()).sub).toBeTypeOf("string");
  });

  it("serves the /mfa endpoints the same way (through the one access-token check)", async () => {
    const { access_token } = await dpopSignIn(key);
    const url = `${ISSUER}/mfa/authenticators`;
    const res = await call(routes.mfaAuthenticators, url, {
      headers: { Authorization: `DPoP ${access_token}`, DPoP: await proof(key, { htm: "GET", htu: url, ath: accessTokenHash(access_token) }) },
    });
    expect(res.status).toBe(200);
    const bearer = await call(routes.mfaAuthenticators, url, { headers: { Authorization: `Bearer ${access_token}` } });
    await expectResourceError(bearer, "invalid_token");
  });

  it("holds a sign-in's bound mfa_token to its key at the /mfa endpoints too: DPoP scheme, a proof by that key with ath", async () => {
    const url = `${ISSUER}/mfa/authenticators`;
    const list = (headers: Record<string, string>) => call(routes.mfaAuthenticators, url, { headers });
    const proven = async (by: Key, token: string) => proof(by, { htm: "GET", htu: url, ath: accessTokenHash(token) });
    const mfaToken = await mfaTokenFor({ ...SPA, ...DAVE }, { DPoP: await proof(key) });
    // Whoever took the mfa_token but not the key gets nothing from these endpoints either.
    await expectResourceError(await list({ Authorization: `Bearer ${mfaToken}` }), "invalid_token");
    await expectResourceError(await list({ Authorization: `DPoP ${mfaToken}` }), "invalid_dpop_proof");
    await expectResourceError(await list({ Authorization: `DPoP ${mfaToken}`, DPoP: await proven(await newKey(), mfaToken) }), "invalid_token");
    const sameKey = await proof(key, { htm: "GET", htu: url, ath: accessTokenHash("another token") });
    await expectResourceError(await list({ Authorization: `DPoP ${mfaToken}`, DPoP: sameKey }), "invalid_dpop_proof");
    const served = await list({ Authorization: `DPoP ${mfaToken}`, DPoP: await proven(key, mfaToken) });
    expect(served.status).toBe(200);
    const listed = (await served.json()) as { authenticator_type: string; active: boolean }[];
    expect(listed.map((a) => [a.authenticator_type, a.active])).toEqual([
      ["otp", true],
      ["recovery-code", true],
    ]);
    // None of it spent the mfa_token or counted against it: the second step still finishes.
    // (A recovery code: the test before used this and the next time step's TOTP codes.)
    const done = await postToken(
      { grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: mfaToken, recovery_code: DAVE_RECOVERY_CODES[0]! },
      { DPoP: await proof(key) },
    );
    expect(done.status).toBe(200);
    // An unbound mfa_token stays a bearer token: the DPoP scheme is refused, as for an unbound access token.
    const unbound = await mfaTokenFor();
    await expectResourceError(await list({ Authorization: `DPoP ${unbound}`, DPoP: await proven(key, unbound) }), "invalid_token");
    expect((await list({ Authorization: `Bearer ${unbound}` })).status).toBe(200);
  });

  it("does not let a bound mfa_token start an enrolment without its key (the required policy's first sign-in)", async () => {
    const url = `${ISSUER}/mfa/associate`;
    const associate = (headers: Record<string, string>) => call(routes.mfaAssociate, url, { body: { authenticator_types: "otp" }, headers });
    const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
    const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
    await db().user.create({ data: { workspaceId, username: "enid", passwordHash, name: "Enid", email: "enid@example.com" } });
    await setClient("demo/default", "demo-spa", { mfaPolicy: "required" });
    clearCaches("settings");
    try {
      const mfaToken = await mfaTokenFor({ ...SPA, username: "enid", password: ALICE.password }, { DPoP: await proof(key) });
      await expectResourceError(await associate({ Authorization: `Bearer ${mfaToken}` }), "invalid_token");
      const other = await newKey();
      await expectResourceError(
        await associate({ Authorization: `DPoP ${mfaToken}`, DPoP: await proof(other, { htu: url, ath: accessTokenHash(mfaToken) }) }),
        "invalid_token",
      );
      expect(await db().mfaFactor.count({ where: { user: { username: "enid" } } })).toBe(0);
      const res = await associate({ Authorization: `DPoP ${mfaToken}`, DPoP: await proof(key, { htu: url, ath: accessTokenHash(mfaToken) }) });
      expect(res.status).toBe(200);
      const { secret } = (await res.json()) as { secret: string };
      const done = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(secret) }, { DPoP: await proof(key) });
      expect(done.status).toBe(200);
      expect(decodeJwt(((await done.json()) as { access_token: string }).access_token).cnf).toEqual({ jkt: key.jkt });
    } finally {
      await setClient("demo/default", "demo-spa", { mfaPolicy: "inherit" });
      clearCaches("settings");
    }
  });

  it("refuses a bound token presented as a bearer token (§7.2)", async () => {
    const { access_token } = await dpopSignIn(key);
    await expectResourceError(await callUserinfo({ headers: { Authorization: `Bearer ${access_token}` } }), "invalid_token");
  });

  it("refuses the DPoP scheme with an unbound token", async () => {
    const { access_token } = await (await password({})).json();
    await expectResourceError(await userinfo(key, access_token), "invalid_token");
  });

  it("challenges a DPoP Authorization header that is no token in DPoP, the scheme the client used (§7.1)", async () => {
    const res = await callUserinfo({ headers: { Authorization: "DPoP a b", DPoP: await proof(key, { htm: "GET", htu: USERINFO_URL }) } });
    await expectResourceError(res, "invalid_token");
  });

  it("takes a proof for a path whose workspace is percent-encoded: the request's URI, normalised as the htu is (RFC 3986 §6.2.2.2)", async () => {
    const { access_token } = await dpopSignIn(key);
    const url = USERINFO_URL.replace("/demo/default/", "/d%65mo/def%61ult/");
    const res = await call(routes.userinfo, url, {
      headers: { Authorization: `DPoP ${access_token}`, DPoP: await proof(key, { htm: "GET", htu: url, ath: accessTokenHash(access_token) }) },
    });
    expect(res.status).toBe(200);
    // The published URL names the same resource.
    const published = await call(routes.userinfo, url, {
      headers: { Authorization: `DPoP ${access_token}`, DPoP: await proof(key, { htm: "GET", htu: USERINFO_URL, ath: accessTokenHash(access_token) }) },
    });
    expect(published.status).toBe(200);
    // Another workspace's path does not.
    const other = await call(routes.userinfo, url, {
      headers: {
        Authorization: `DPoP ${access_token}`,
        DPoP: await proof(key, { htm: "GET", htu: USERINFO_URL.replace("/default/", "/other/"), ath: accessTokenHash(access_token) }),
      },
    });
    await expectResourceError(other, "invalid_dpop_proof");
  });

  it.each<[string, ProofOptions | "none" | "other key", string]>([
    ["an ath of another token", { ath: accessTokenHash("another token") }, "invalid_dpop_proof"],
    ["no ath", { ath: undefined, claims: { ath: undefined } }, "invalid_dpop_proof"],
    ["the token endpoint's htu", { htu: TOKEN_URL }, "invalid_dpop_proof"],
    ["another method", { htm: "POST" }, "invalid_dpop_proof"],
    ["no proof at all", "none", "invalid_dpop_proof"],
    ["a proof by another key", "other key", "invalid_token"],
  ])("refuses a bound token with %s: 401 and a DPoP challenge (§7.1)", async (_, o, error) => {
    const { access_token } = await dpopSignIn(key);
    const headers: Record<string, string> = { Authorization: `DPoP ${access_token}` };
    if (o === "other key") {
      const other = await newKey();
      headers.DPoP = await proof(other, { htm: "GET", htu: USERINFO_URL, ath: accessTokenHash(access_token) });
    } else if (o !== "none") {
      headers.DPoP = await proof(key, { htm: "GET", htu: USERINFO_URL, ath: accessTokenHash(access_token), ...o });
    }
    await expectResourceError(await callUserinfo({ headers }), error);
  });

  it("refuses a replayed proof at a resource endpoint", async () => {
    const { access_token } = await dpopSignIn(key);
    const dpop = await proof(key, { htm: "GET", htu: USERINFO_URL, ath: accessTokenHash(access_token) });
    const headers = { Authorization: `DPoP ${access_token}`, DPoP: dpop };
    expect((await callUserinfo({ headers })).status).toBe(200);
    await expectResourceError(await callUserinfo({ headers }), "invalid_dpop_proof");
  });

  it("binds registration's initial access token too: a bound one needs the DPoP scheme and a proof by its key", async () => {
    const url = `${ISSUER}/oauth2/register`;
    const res = await postToken({ grant_type: "client_credentials", scope: "register_clients" }, { ...SERVICE_BASIC, DPoP: await proof(key) });
    const { access_token, token_type } = (await res.json()) as { access_token: string; token_type: string };
    expect(token_type).toBe("DPoP");
    const body = JSON.stringify({ client_name: "Bound registrar's", grant_types: ["client_credentials"], scope: "introspect_tokens" });
    const register = (headers: Record<string, string>) =>
      call(routes.registration, url, { method: "POST", body, headers: { "Content-Type": "application/json", ...headers } });
    await expectResourceError(await register({ Authorization: `Bearer ${access_token}` }), "invalid_token");
    await expectResourceError(await register({ Authorization: `DPoP ${access_token}` }), "invalid_dpop_proof");
    const other = await newKey();
    const byOther = await proof(other, { htu: url, ath: accessTokenHash(access_token) });
    await expectResourceError(await register({ Authorization: `DPoP ${access_token}`, DPoP: byOther }), "invalid_token");
    const registered = await register({ Authorization: `DPoP ${access_token}`, DPoP: await proof(key, { htu: url, ath: accessTokenHash(access_token) }) });
    expect(registered.status).toBe(201);
    expect((await registered.json()).client_name).toBe("Bound registrar's");
    // An unbound initial access token still goes as Bearer only.
    const unbound = (await (await postToken({ grant_type: "client_credentials", scope: "register_clients" }, SERVICE_BASIC)).json()) as {
      access_token: string;
    };
    await expectResourceError(
      await register({ Authorization: `DPoP ${unbound.access_token}`, DPoP: await proof(key, { htu: url, ath: accessTokenHash(unbound.access_token) }) }),
      "invalid_token",
    );
    expect((await register({ Authorization: `Bearer ${unbound.access_token}` })).status).toBe(201);
  });

  it("challenges a request without a token in both schemes, the DPoP one naming the algorithms", async () => {
    const res = await callUserinfo();
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="${ISSUER}", DPoP realm="${ISSUER}", ${ALGS}`);
  });

  it("keeps Bearer challenges for bearer tokens", async () => {
    const res = await callUserinfo({ headers: { Authorization: "Bearer not.a.token" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="[^"]+", error="invalid_token"/);
  });
});

// Both servers answer a HEAD as its GET (without the body); the proof still names the method the
// client sent (RFC 9449 §4.3: htm is the request's method).
describe("a HEAD at userinfo with a DPoP proof", () => {
  const headers = async (key: Key, token: string, htm: string) => ({
    Authorization: `DPoP ${token}`,
    DPoP: await proof(key, { htm, htu: USERINFO_URL, ath: accessTokenHash(token) }),
  });
  const expectRefused = (res: Response) => {
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(
      /^DPoP realm="[^"]+", error="invalid_dpop_proof", error_description="the DPoP proof's htm does not match the request's method"/,
    );
  };

  it("under npm run dev (Next hands it to the GET handler): takes a proof that says HEAD, refuses one that says GET", async () => {
    const key = await newKey();
    const { access_token } = await dpopSignIn(key);
    const ask = async (method: string, htm: string) =>
      routes.userinfo.GET(new Request(USERINFO_URL, { method, headers: await headers(key, access_token, htm) }), routeContext());
    expect((await ask("HEAD", "HEAD")).status).toBe(200);
    expectRefused(await ask("HEAD", "GET"));
    // Nor is a proof for a HEAD good for a GET.
    expectRefused(await ask("GET", "HEAD"));
  });

  it("on the production server: the same", async () => {
    const server = createServer((req, res) => {
      if (!serveOAuth(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const key = await newKey();
      const { access_token } = await dpopSignIn(key);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/demo/default/userinfo`;
      const ask = async (method: string, htm: string) => fetch(url, { method, headers: await headers(key, access_token, htm) });
      const taken = await ask("HEAD", "HEAD");
      expect(taken.status).toBe(200);
      expect(await taken.text()).toBe("");
      expectRefused(await ask("HEAD", "GET"));
      expectRefused(await ask("GET", "HEAD"));
      expect((await ask("GET", "GET")).status).toBe(200);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe("server-provided DPoP nonces (RFC 9449 §8, §9), a workspace setting", () => {
  /**
   * Runs `test` with the workspace's nonces on and the clock (Date only) stopped at `at` (by
   * default mid-window, so that a test's nonces do not roll over under it); then turns them off.
   */
  async function withNonces(test: () => Promise<void>, at = Math.floor(Date.now() / DPOP_NONCE_WINDOW_MS) * DPOP_NONCE_WINDOW_MS + DPOP_NONCE_WINDOW_MS / 2) {
    await setWorkspace("demo/default", { dpopNonces: true });
    clearCaches("settings");
    vi.useFakeTimers({ toFake: ["Date"], now: at });
    try {
      await test();
    } finally {
      vi.useRealTimers();
      vi.restoreAllMocks();
      await setWorkspace("demo/default", { dpopNonces: false });
      clearCaches("settings");
    }
  }

  it("are derived statelessly: the current and the previous window's are accepted, no older", async () => {
    const workspace = await findWorkspace("demo", "default");
    const t = Date.now();
    const current = await currentDpopNonce(workspace, t);
    const previous = await currentDpopNonce(workspace, t - DPOP_NONCE_WINDOW_MS);
    const older = await currentDpopNonce(workspace, t - 2 * DPOP_NONCE_WINDOW_MS);
    expect(new Set([current, previous, older]).size).toBe(3);
    expect(await isAcceptedDpopNonce(workspace, current, t)).toBe(true);
    expect(await isAcceptedDpopNonce(workspace, previous, t)).toBe(true);
    expect(await isAcceptedDpopNonce(workspace, older, t)).toBe(false);
    expect(await isAcceptedDpopNonce(workspace, "made-up", t)).toBe(false);
  });

  it("when on, the token endpoint and userinfo answer use_dpop_nonce with a DPoP-Nonce until the proof carries it", async () => {
    await withNonces(async () => {
      const first = await password({ DPoP: await proof(key) });
      expect(first.status).toBe(400);
      expect((await first.json()).error).toBe("use_dpop_nonce");
      const nonce = first.headers.get("dpop-nonce") ?? "";
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
      await expectTokenError(await password({ DPoP: await proof(key, { nonce: "stale" }) }), "use_dpop_nonce");
      const ok = await password({ DPoP: await proof(key, { nonce }) });
      expect(ok.status).toBe(200);
      const { access_token } = await ok.json();

      const without = await userinfo(key, access_token);
      await expectResourceError(without, "use_dpop_nonce");
      expect(without.headers.get("dpop-nonce")).toBe(nonce);
      expect((await userinfo(key, access_token, { nonce })).status).toBe(200);
      // A request without DPoP needs no nonce.
      expect((await password({})).status).toBe(200);
    });
  });

  it("when on, every resource endpoint (userinfo, /mfa, the account API) answers a proof with the previous nonce with the current one", async () => {
    await withNonces(async () => {
      const workspace = await findWorkspace("demo", "default");
      const current = await currentDpopNonce(workspace);
      const previous = await currentDpopNonce(workspace, Date.now() - DPOP_NONCE_WINDOW_MS);
      const signIn = await postToken(
        { grant_type: "password", scope: "openid account", ...ALICE },
        { Authorization: basic("demo-web", "demo-web-secret"), DPoP: await proof(key, { nonce: current }) },
      );
      expect(signIn.status).toBe(200);
      const { access_token } = await signIn.json();
      const get = async (route: (typeof routes)[keyof typeof routes], path: string, nonce: string) => {
        const url = `${ISSUER}${path}`;
        return call(route, url, {
          headers: { Authorization: `DPoP ${access_token}`, DPoP: await proof(key, { htm: "GET", htu: url, ath: accessTokenHash(access_token), nonce }) },
        });
      };
      for (const [route, path] of [
        [routes.userinfo, "/userinfo"],
        [routes.mfaAuthenticators, "/mfa/authenticators"],
        [routes.accountSessions, "/account/sessions"],
        [routes.accountProfile, "/account/profile"],
      ] as const) {
        const stale = await get(route, path, previous);
        expect(stale.status, path).toBe(200);
        expect(stale.headers.get("dpop-nonce"), path).toBe(current);
        const fresh = await get(route, path, current);
        expect(fresh.status, path).toBe(200);
        expect(fresh.headers.get("dpop-nonce"), path).toBeNull();
      }
      // A bound mfa_token at /mfa too.
      const mfaToken = await mfaTokenFor({ ...SPA, ...DAVE }, { DPoP: await proof(key, { nonce: current }) });
      const url = `${ISSUER}/mfa/authenticators`;
      const listed = await call(routes.mfaAuthenticators, url, {
        headers: { Authorization: `DPoP ${mfaToken}`, DPoP: await proof(key, { htm: "GET", htu: url, ath: accessTokenHash(mfaToken), nonce: previous }) },
      });
      expect(listed.status).toBe(200);
      expect(listed.headers.get("dpop-nonce")).toBe(current);
    });
  });

  it("when on, the nonce exchange of well-behaved public clients does not spend their address's budget for junk", async () => {
    vi.spyOn(settings(), "UNAUTHENTICATED_FAILURE_LIMIT", "get").mockReturnValue(3);
    // Within one minute of the budget: from its start.
    await withNonces(
      async () => {
        const from = { [PEER_HEADER]: peerHeaderValue("198.18.9.9") };
        const statuses: number[] = [];
        // Six browsers behind one address, each with its own key: a proof without the nonce, then with it.
        for (let browser = 0; browser < 6; browser += 1) {
          const own = await newKey();
          const first = await password({ ...from, DPoP: await proof(own) });
          statuses.push(first.status);
          const nonce = first.headers.get("dpop-nonce") ?? "";
          statuses.push((await password({ ...from, DPoP: await proof(own, { nonce }) })).status);
        }
        expect(statuses).toEqual([400, 200, 400, 200, 400, 200, 400, 200, 400, 200, 400, 200]);
      },
      (Math.floor(Date.now() / 60_000) + 1) * 60_000 + 1_000,
    );
  });

  it("when on, answer a proof without the nonce before verifying it: a forged signature gets use_dpop_nonce too", async () => {
    await withNonces(async () => {
      const good = await proof(key);
      const forged = `${good.slice(0, good.lastIndexOf("."))}.${Buffer.alloc(64, 7).toString("base64url")}`;
      const res = await password({ DPoP: forged });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "use_dpop_nonce", error_description: "the DPoP proof must carry the server's nonce" });
      const nonce = res.headers.get("dpop-nonce") ?? "";
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
      // With the nonce, the signature is verified, and a forged one refused.
      const signed = await proof(key, { nonce });
      const forgedWithNonce = `${signed.slice(0, signed.lastIndexOf("."))}.${Buffer.alloc(64, 7).toString("base64url")}`;
      const refused = await password({ DPoP: forgedWithNonce });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toEqual({ error: "invalid_dpop_proof", error_description: "the DPoP proof's signature is invalid" });
      // A payload that is no JWT's is refused as such, nonce or not.
      const [header] = good.split(".");
      await expectTokenError(await password({ DPoP: `${header}.bm90IGpzb24.${Buffer.alloc(64).toString("base64url")}` }), "invalid_dpop_proof");
    });
  });

  it("when on, a failure names the current nonce to a proof that did not carry it (§8.2), at the endpoints that take proofs", async () => {
    await withNonces(async () => {
      const workspace = await findWorkspace("demo", "default");
      const current = await currentDpopNonce(workspace);
      const previous = await currentDpopNonce(workspace, Date.now() - DPOP_NONCE_WINDOW_MS);
      const nobody = { grant_type: "password", ...SPA, username: "nonce-nobody", password: "not a password of anyone's" };
      const expectFailure = async (res: Response, status: number, error: string, nonce: string | null) => {
        expect(res.status).toBe(status);
        expect((await res.json()).error).toBe(error);
        expect(res.headers.get("dpop-nonce")).toBe(nonce);
      };

      // The token endpoint: a grant refused, a client refused, a proof refused after its nonce was accepted.
      await expectFailure(await postToken(nobody, { DPoP: await proof(key, { nonce: previous }) }), 400, "invalid_grant", current);
      await expectFailure(await postToken(nobody, { DPoP: await proof(key, { nonce: current }) }), 400, "invalid_grant", null);
      const wrongSecret = { Authorization: basic("demo-web", "not-the-secret") };
      await expectFailure(
        await postToken({ grant_type: "password", ...ALICE }, { ...wrongSecret, DPoP: await proof(key, { nonce: previous }) }),
        401,
        "invalid_client",
        current,
      );
      await expectFailure(await password({ DPoP: await proof(key, { nonce: previous, htu: `${ISSUER}/elsewhere` }) }), 400, "invalid_dpop_proof", current);

      // A resource endpoint: the account API, for a session that is not the user's; userinfo, with another key's proof.
      const signIn = await postToken(
        { grant_type: "password", scope: "openid account", ...ALICE },
        { Authorization: basic("demo-web", "demo-web-secret"), DPoP: await proof(key, { nonce: current }) },
      );
      expect(signIn.status).toBe(200);
      const { access_token } = await signIn.json();
      const endSession = async (nonce: string) => {
        const id = randomUUID();
        const url = `${ISSUER}/account/sessions/${id}`;
        const dpop = await proof(key, { htm: "DELETE", htu: url, ath: accessTokenHash(access_token), nonce });
        return call(routes.accountSession, url, { method: "DELETE", headers: { Authorization: `DPoP ${access_token}`, DPoP: dpop }, params: { id } });
      };
      await expectFailure(await endSession(previous), 404, "not_found", current);
      await expectFailure(await endSession(current), 404, "not_found", null);
      const mfaRemove = async (nonce: string) => {
        const url = `${ISSUER}/mfa/remove`;
        const dpop = await proof(key, { htu: url, ath: accessTokenHash(access_token), nonce });
        return call(routes.mfaRemove, url, { body: {}, headers: { Authorization: `DPoP ${access_token}`, DPoP: dpop } });
      };
      // Two-step verification not set up for alice.
      await expectFailure(await mfaRemove(previous), 400, "invalid_request", current);
      await expectFailure(await userinfo(await newKey(), access_token, { nonce: previous }), 401, "invalid_token", current);

      // Introspection takes no proofs: a header sent there is nothing to it.
      const introspection = await postIntrospect(
        { token: access_token },
        { Authorization: basic("demo-backend", "wrong"), DPoP: await proof(key, { nonce: previous }) },
      );
      await expectFailure(introspection, 401, "invalid_client", null);
    });
  });

  it("when on and the nonce's secret cannot be read, a failure is answered all the same, without a nonce", async () => {
    await withNonces(async () => {
      await serverSecret(DPOP_NONCE_SECRET);
      const stored = await db().serverSecret.findUniqueOrThrow({ where: { name: DPOP_NONCE_SECRET } });
      await db().serverSecret.update({ where: { name: DPOP_NONCE_SECRET }, data: { value: `${SEALED_PREFIX}00000000:AAAA:AAAA` } });
      clearCaches("settings");
      const logged = captureRequestLogs();
      try {
        const res = await password({ DPoP: await proof(key) });
        expect(res.status).toBe(500);
        expect(await res.json()).toEqual({ error: "server_error", error_description: "the server could not handle the request" });
        expect(res.headers.get("dpop-nonce")).toBeNull();
        expect(logged().filter((line) => line.level === 40)).toEqual([
          expect.objectContaining({ msg: "no DPoP nonce for a failure's answer: its secret could not be read" }),
        ]);
      } finally {
        await db().serverSecret.update({ where: { name: DPOP_NONCE_SECRET }, data: { value: stored.value } });
        clearCaches("settings");
      }
    });
  });

  it("are off by default: a proof without a nonce is taken", async () => {
    expect((await db().workspace.findMany({ select: { dpopNonces: true } })).every((w) => !w.dpopNonces)).toBe(true);
    expect((await password({ DPoP: await proof(key) })).status).toBe(200);
    // Nor does a failure name one.
    const refused = await postToken({ grant_type: "password", ...SPA, username: "nonce-nobody", password: "wrong" }, { DPoP: await proof(key) });
    expect(refused.status).toBe(400);
    expect(refused.headers.get("dpop-nonce")).toBeNull();
  });
});

describe("oauth4webapi's DPoP handle drives the password grant, a refresh and userinfo", () => {
  const options = { [oauth.customFetch]: inProcessFetch, [oauth.allowInsecureRequests]: true };

  it.each([false, true])("binds, refreshes and calls userinfo (server nonces %s)", async (nonces) => {
    await setWorkspace("demo/default", { dpopNonces: nonces });
    clearCaches("settings");
    try {
      const as = await oauth.processDiscoveryResponse(new URL(ISSUER), await oauth.discoveryRequest(new URL(ISSUER), options));
      const client: oauth.Client = { client_id: "demo-spa" };
      const pair = await oauth.generateKeyPair("ES256");
      const DPoP = oauth.DPoP(client, pair);
      const jkt = await calculateJwkThumbprint(await exportJWK(pair.publicKey), "sha256");
      // With nonces on, the first request learns the nonce (use_dpop_nonce) and the handle retries with it.
      const retrying = async <T>(fn: () => Promise<T>): Promise<T> => {
        try {
          return await fn();
        } catch (err) {
          if (oauth.isDPoPNonceError(err)) return fn();
          throw err;
        }
      };
      const grant = await retrying(async () =>
        oauth.processGenericTokenEndpointResponse(
          as,
          client,
          await oauth.genericTokenEndpointRequest(
            as,
            client,
            oauth.None(),
            "password",
            { ...ALICE, scope: "openid profile offline_access" },
            { ...options, DPoP },
          ),
        ),
      );
      expect(grant.token_type).toBe("dpop");
      expect(decodeJwt(grant.access_token).cnf).toEqual({ jkt });
      const refreshed = await retrying(async () =>
        oauth.processRefreshTokenResponse(
          as,
          client,
          await oauth.refreshTokenGrantRequest(as, client, oauth.None(), grant.refresh_token ?? "", { ...options, DPoP }),
        ),
      );
      expect(refreshed.token_type).toBe("dpop");
      const claims = oauth.getValidatedIdTokenClaims(refreshed);
      const info = await retrying(async () =>
        oauth.processUserInfoResponse(as, client, claims?.sub ?? "", await oauth.userInfoRequest(as, client, refreshed.access_token, { ...options, DPoP })),
      );
      expect(info.sub).toBe(claims?.sub);
    } finally {
      await setWorkspace("demo/default", { dpopNonces: false });
      clearCaches("settings");
    }
  });
});
