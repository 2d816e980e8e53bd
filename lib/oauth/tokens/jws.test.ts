import { createPrivateKey, createPublicKey, sign as nodeSign, type JsonWebKey, type KeyObject } from "node:crypto";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { signJws, verifyJwt, type JwtRules } from "@/lib/oauth/tokens/jws.ts";
import { SIGNING_ALGS, type SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";
import { withCharChanged } from "@/lib/testing/tamper.ts";

interface Pair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** jose's own (WebCrypto) keys, for the other side of each comparison. */
  cryptoPrivate: CryptoKey;
  cryptoPublic: CryptoKey;
}

async function pair(alg: SigningAlg): Promise<Pair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    privateKey: createPrivateKey({ key: (await exportJWK(privateKey)) as JsonWebKey, format: "jwk" }),
    publicKey: createPublicKey({ key: (await exportJWK(publicKey)) as JsonWebKey, format: "jwk" }),
    cryptoPrivate: privateKey,
    cryptoPublic: publicKey,
  };
}

const ISSUER = "https://as.example/demo/default";
const now = Math.floor(Date.now() / 1000);
const claims = { iss: ISSUER, sub: "u-1", client_id: "c-1", jti: "j-1", scope: "openid", iat: now, nbf: now, exp: now + 600 };
const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

const keys = {} as Record<SigningAlg, Pair>;
let other: Pair;
beforeAll(async () => {
  for (const alg of SIGNING_ALGS) keys[alg] = await pair(alg);
  other = await pair("ES256");
});

const rules = (overrides: Partial<JwtRules> = {}): JwtRules => ({
  alg: "ES256",
  typ: "at+jwt",
  issuer: ISSUER,
  clockTolerance: 30,
  requiredClaims: ["sub", "client_id", "jti", "exp", "iat", "scope"],
  keyFor: (kid) => (kid === "k-es" ? keys.ES256.publicKey : undefined),
  now,
  ...overrides,
});

const joseSigned = (payload: JWTPayload, header: Record<string, unknown> = {}, key: CryptoKey = keys.ES256.cryptoPrivate) =>
  new SignJWT(payload).setProtectedHeader({ alg: "ES256", kid: "k-es", typ: "at+jwt", ...header } as { alg: string }).sign(key);

/** A token with any header at all, signed with our ES256 key (jose refuses to write some). */
function rawSigned(header: Record<string, unknown>, payload: unknown): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${nodeSign("sha256", Buffer.from(input), { key: keys.ES256.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
}

/** What jose's jwtVerify says of the same token under the same rules: the reference. */
async function joseAccepts(token: string, r: JwtRules): Promise<boolean> {
  try {
    await jwtVerify(token, (header) => r.keyFor(header.kid ?? "") ?? Promise.reject(new Error("no key")), {
      algorithms: [r.alg],
      typ: r.typ,
      issuer: r.issuer,
      clockTolerance: r.clockTolerance,
      requiredClaims: [...r.requiredClaims],
      currentDate: new Date((r.now ?? now) * 1000),
    });
    return true;
  } catch {
    return false;
  }
}

describe("signJws", () => {
  it.each(SIGNING_ALGS)("writes %s tokens that jose verifies, header and payload exactly as given", async (alg) => {
    const token = await signJws({ alg, kid: `k-${alg}`, typ: "JWT" }, claims, keys[alg].privateKey);
    const { payload, protectedHeader } = await jwtVerify(token, keys[alg].cryptoPublic, { algorithms: [alg], issuer: ISSUER });
    expect(protectedHeader).toEqual({ alg, kid: `k-${alg}`, typ: "JWT" });
    expect(payload).toEqual(claims);
    // The same bytes as jose writes, but for the signature.
    const jose = await new SignJWT(claims).setProtectedHeader({ alg, kid: `k-${alg}`, typ: "JWT" }).sign(keys[alg].cryptoPrivate);
    expect(token.split(".").slice(0, 2)).toEqual(jose.split(".").slice(0, 2));
  });
});

describe("verifyJwt", () => {
  it("accepts our tokens and jose's alike, with their payload", async () => {
    const ours = await signJws({ alg: "ES256", kid: "k-es", typ: "at+jwt" }, claims, keys.ES256.privateKey);
    expect(await verifyJwt(ours, rules())).toEqual({ payload: claims });
    expect(await verifyJwt(await joseSigned(claims), rules())).toEqual({ payload: claims });
    expect(await verifyJwt(await joseSigned(claims, { typ: "application/AT+JWT" }), rules())).toEqual({ payload: claims });
  });

  it("verifies RS256 and EdDSA tokens with keys of their own algorithm", async () => {
    for (const alg of ["RS256", "EdDSA"] as const) {
      const token = await signJws({ alg, kid: "k", typ: "JWT" }, claims, keys[alg].privateKey);
      expect(await verifyJwt(token, rules({ alg, typ: "JWT", keyFor: () => keys[alg].publicKey }))).toEqual({ payload: claims });
      expect(await verifyJwt(token, rules({ typ: "JWT", keyFor: () => keys.ES256.publicKey }))).toEqual({ refused: "ERR_JOSE_ALG_NOT_ALLOWED" });
    }
  });

  // Each forgery with the refusal it must get, and jose must refuse it too.
  const forgeries: Array<[string, () => Promise<string> | string, string, Partial<JwtRules>?]> = [
    ["two segments", () => `${b64({ alg: "ES256" })}.${b64(claims)}`, "ERR_JWS_INVALID"],
    ["four segments", async () => `${await joseSigned(claims)}.x`, "ERR_JWS_INVALID"],
    ["a character outside base64url", async () => `${await joseSigned(claims)}=`, "ERR_JWS_INVALID"],
    ["a header that is not JSON", () => `${b64("{alg")}.${b64(claims)}.${b64("x")}`, "ERR_JWS_INVALID"],
    ["alg none", () => `${b64({ alg: "none", typ: "at+jwt", kid: "k-es" })}.${b64(claims)}.${b64("x")}`, "ERR_JOSE_ALG_NOT_ALLOWED"],
    [
      "HS256 keyed with our public key",
      async () =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: "HS256", kid: "k-es", typ: "at+jwt" })
          .sign(new TextEncoder().encode(String(keys.ES256.publicKey.export({ type: "spki", format: "pem" })))),
      "ERR_JOSE_ALG_NOT_ALLOWED",
    ],
    ["a crit header", () => rawSigned({ alg: "ES256", kid: "k-es", typ: "at+jwt", crit: ["urn:x"], "urn:x": 1 }, claims), "ERR_JOSE_NOT_SUPPORTED"],
    ["typ JWT (an ID token)", () => joseSigned(claims, { typ: "JWT" }), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["no typ", () => joseSigned(claims, { typ: undefined }), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["an unknown kid", () => joseSigned(claims, { kid: "k-unknown" }), "ERR_JWKS_NO_MATCHING_KEY"],
    ["no kid", () => joseSigned(claims, { kid: undefined }), "ERR_JWKS_NO_MATCHING_KEY"],
    ["our kid, another key", () => joseSigned(claims, {}, other.cryptoPrivate), "ERR_JWS_SIGNATURE_VERIFICATION_FAILED"],
    [
      "a payload changed after signing",
      async () => {
        const [h, , s] = (await joseSigned(claims)).split(".");
        return `${h}.${b64({ ...claims, sub: "admin" })}.${s}`;
      },
      "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    ],
    [
      "a DER-encoded signature",
      () => {
        const input = `${b64({ alg: "ES256", kid: "k-es", typ: "at+jwt" })}.${b64(claims)}`;
        return `${input}.${nodeSign("sha256", Buffer.from(input), keys.ES256.privateKey).toString("base64url")}`;
      },
      "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
    ],
    ["a payload that is an array", () => signJws({ alg: "ES256", kid: "k-es", typ: "at+jwt" }, [claims], keys.ES256.privateKey), "ERR_JWT_INVALID"],
    ["another issuer", () => joseSigned({ ...claims, iss: "https://evil.example" }), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["no jti", () => joseSigned({ ...claims, jti: undefined }), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["exp as a string", () => joseSigned({ ...claims, exp: String(now + 600) } as unknown as JWTPayload), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["not yet valid beyond the tolerance", () => joseSigned({ ...claims, nbf: now + 31 }), "ERR_JWT_CLAIM_VALIDATION_FAILED"],
    ["expired beyond the tolerance", () => joseSigned({ ...claims, exp: now - 30 }), "ERR_JWT_EXPIRED"],
  ];

  it.each(forgeries)("refuses %s", async (_name, make, refusal, overrides) => {
    const token = await make();
    const r = rules(overrides);
    expect(await verifyJwt(token, r)).toEqual({ refused: refusal });
    expect(await joseAccepts(token, r)).toBe(false);
  });

  it("refuses, never throws, when the key for the kid is of another type than the algorithm", async () => {
    // An RSA or Ed25519 key cannot check an ES256 signature: node:crypto's error is a refusal.
    for (const wrong of [keys.RS256.publicKey, keys.EdDSA.publicKey]) {
      expect(await verifyJwt(await joseSigned(claims), rules({ keyFor: () => wrong }))).toEqual({ refused: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
    }
  });

  it("tolerates the clock skew as jose does, to the second", async () => {
    for (const payload of [
      { ...claims, nbf: now + 30 },
      { ...claims, exp: now - 29 },
    ]) {
      const token = await joseSigned(payload);
      expect(await verifyJwt(token, rules())).toEqual({ payload });
      expect(await joseAccepts(token, rules())).toBe(true);
    }
  });
});

describe("the memory of signatures found valid", () => {
  it("applies every rule again to a token it remembers, and the signature's check again for any other key", async () => {
    const token = await signJws({ alg: "ES256", kid: "k-es", typ: "at+jwt" }, { ...claims, jti: "remembered" }, keys.ES256.privateKey);
    expect(await verifyJwt(token, rules())).toEqual({ payload: { ...claims, jti: "remembered" } });
    // Remembered with the key that verified it: any other key object is checked afresh (a key set
    // loaded again, or a kid now naming another key).
    expect(await verifyJwt(token, rules({ keyFor: () => other.publicKey }))).toEqual({ refused: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
    // A retired key's tokens are refused at once.
    expect(await verifyJwt(token, rules({ keyFor: () => undefined }))).toEqual({ refused: "ERR_JWKS_NO_MATCHING_KEY" });
    // The claims are judged at every use.
    expect(await verifyJwt(token, rules({ now: now + 600 + 30 }))).toEqual({ refused: "ERR_JWT_EXPIRED" });
    expect(await verifyJwt(token, rules({ issuer: "https://other.example/demo/default" }))).toEqual({ refused: "ERR_JWT_CLAIM_VALIDATION_FAILED" });
    expect(await verifyJwt(token, rules({ typ: "JWT" }))).toEqual({ refused: "ERR_JWT_CLAIM_VALIDATION_FAILED" });
    // Still valid with its own key, after all that.
    expect(await verifyJwt(token, rules())).toEqual({ payload: { ...claims, jti: "remembered" } });
  });

  it("never lends a remembered signature to a token that differs by one character", async () => {
    const token = await signJws({ alg: "ES256", kid: "k-es", typ: "at+jwt" }, { ...claims, jti: "original" }, keys.ES256.privateKey);
    expect("payload" in (await verifyJwt(token, rules()))).toBe(true);
    const [header, payload, signature] = token.split(".") as [string, string, string];
    const otherPayload = b64({ ...claims, jti: "original", scope: "openid admin" });
    // One character in the middle: all six of its bits are the signature's.
    const flipped = withCharChanged(signature, 40);
    expect(await verifyJwt(`${header}.${otherPayload}.${signature}`, rules())).toEqual({ refused: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
    expect(await verifyJwt(`${header}.${payload}.${flipped}`, rules())).toEqual({ refused: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
  });
  it("is bounded: past 4,096 tokens the oldest makes room", async () => {
    const registry = (globalThis as Record<symbol, Map<string, { cache: unknown }> | undefined>)[Symbol.for("ropc.caches")];
    const memory = registry?.get("verified token signatures")?.cache as Map<string, unknown>;
    memory.clear();
    const tokens = await Promise.all(
      Array.from({ length: 4097 }, (_, i) => signJws({ alg: "ES256", kid: "k-es", typ: "at+jwt" }, { ...claims, jti: `bound-${i}` }, keys.ES256.privateKey)),
    );
    for (const token of tokens) expect("payload" in (await verifyJwt(token, rules()))).toBe(true);
    expect(memory.size).toBe(4096);
    expect(memory.has(tokens[0]!)).toBe(false);
    expect(memory.has(tokens[4096]!)).toBe(true);
    // A token remembered again (verified afresh under a key set loaded again: the same key, a new
    // object) takes its own place: nothing else makes room.
    const reloaded = createPublicKey({ key: keys.ES256.publicKey.export({ format: "jwk" }), format: "jwk" });
    expect("payload" in (await verifyJwt(tokens[4096]!, rules({ keyFor: () => reloaded })))).toBe(true);
    expect(memory.size).toBe(4096);
    expect(memory.has(tokens[1]!)).toBe(true);
  });
});
