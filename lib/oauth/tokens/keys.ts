import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import type { JWK } from "jose";
import { openAtRest } from "@/lib/platform/at-rest.ts";
import { registerCache } from "@/lib/platform/caches.ts";
import { settings } from "@/lib/platform/env.ts";
import { ACCESS_TOKEN_ALG, isSigningAlg, type SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";
import { publishedKeyRows, type PublishedKeyRow } from "@/lib/oauth/store/signing-keys.ts";
import { signingKeyContext } from "@/lib/oauth/model/sealed-contexts.ts";

/** A published public key, as it appears in the JWKS (never a private member). */
export type PublicJwk = { kid: string; alg: SigningAlg; use: "sig" } & (
  { kty: "EC"; crv: "P-256"; x: string; y: string } | { kty: "RSA"; n: string; e: string } | { kty: "OKP"; crv: "Ed25519"; x: string }
);

interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  activeFrom: number;
  /** Signing or pending: a superseded key only verifies, even once the key after it is retired. */
  maySign: boolean;
  publicJwk: PublicJwk;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface KeySet {
  /** The key that signs `alg` now: the newest of that algorithm whose `activeFrom` has passed, never a superseded one. */
  signer(alg?: SigningAlg, now?: number): { kid: string; alg: SigningAlg; key: KeyObject };
  /** Public key by `kid` when it is a key of `alg`, for verification; undefined for any other. */
  verifier(kid: string, alg: SigningAlg): KeyObject | undefined;
  jwks(): { keys: PublicJwk[] };
}

/** The public members of a stored JWK, by key type: nothing else is ever published. */
function publicMembers(jwk: JWK, kid: string, alg: SigningAlg): PublicJwk {
  const base = { kid, alg, use: "sig" } as const;
  if (jwk.kty === "RSA") return { kty: "RSA", n: jwk.n ?? "", e: jwk.e ?? "", ...base };
  if (jwk.kty === "OKP") return { kty: "OKP", crv: "Ed25519", x: jwk.x ?? "", ...base };
  return { kty: "EC", crv: "P-256", x: jwk.x ?? "", y: jwk.y ?? "", ...base };
}

// Imported keys (node:crypto's, which lib/oauth/tokens/jws.ts signs and verifies with), kept per
// process across reloads: importing costs more than signing.
const imported = new Map<string, LoadedKey>();

function importRow(row: PublishedKeyRow): LoadedKey {
  const known = imported.get(row.kid);
  if (known) return { ...known, activeFrom: row.activeFrom.getTime(), maySign: row.maySign };
  if (!isSigningAlg(row.alg)) throw new Error(`signing key ${row.kid} has an unknown algorithm`);
  const alg = row.alg;
  const publicJwk = publicMembers(JSON.parse(row.publicJwk) as JWK, row.kid, alg);
  const key: LoadedKey = {
    kid: row.kid,
    alg,
    activeFrom: row.activeFrom.getTime(),
    maySign: row.maySign,
    publicJwk,
    privateKey: createPrivateKey({ key: JSON.parse(openAtRest(row.privateJwk, signingKeyContext(row.kid))) as JsonWebKey, format: "jwk" }),
    publicKey: createPublicKey({ key: publicJwk as JsonWebKey, format: "jwk" }),
  };
  imported.set(row.kid, key);
  return key;
}

async function loadKeySet(): Promise<KeySet> {
  const keys = (await publishedKeyRows()).map(importRow);
  const byKid = new Map(keys.map((k) => [k.kid, k]));
  const jwks = { keys: keys.map((k) => k.publicJwk) };
  const byAlg = new Map<SigningAlg, LoadedKey[]>();
  for (const k of keys) if (k.maySign) byAlg.set(k.alg, [...(byAlg.get(k.alg) ?? []), k]);
  return {
    signer(alg = ACCESS_TOKEN_ALG, now = Date.now()) {
      // Newest first, signing or pending (publishedKeyRows made one of each algorithm if none
      // was): the newest due, or else the pending one (its key that signed was retired).
      const ofAlg = byAlg.get(alg) ?? [];
      const key = ofAlg.find((k) => k.activeFrom <= now) ?? ofAlg[ofAlg.length - 1];
      if (!key) throw new Error(`no ${alg} signing key`);
      return { kid: key.kid, alg, key: key.privateKey };
    },
    verifier(kid, alg) {
      const key = byKid.get(kid);
      return key?.alg === alg ? key.publicKey : undefined;
    },
    jwks: () => jwks,
  };
}

let current: { loadedAt: number; keys: Promise<KeySet> } | undefined;
registerCache("signing keys", {
  clear: () => {
    current = undefined;
    imported.clear();
  },
});

/**
 * The signing keys, read from the database at most once per KEY_CACHE_SECONDS per process: a key
 * rotated or retired elsewhere takes effect here within that bound.
 */
export function keySet(now = Date.now()): Promise<KeySet> {
  if (!current || now - current.loadedAt >= settings().KEY_CACHE_SECONDS * 1000) {
    const keys = loadKeySet();
    current = { loadedAt: now, keys };
    // A failed load must not be cached.
    keys.catch(() => {
      if (current?.keys === keys) current = undefined;
    });
  }
  return current.keys;
}

/** The least time between two reads of the keys for tokens whose `kid` the cached set does not know. */
const UNKNOWN_KID_RELOAD_MS = 1000;

/**
 * The signing keys read again now, for a token whose `kid` the cached set does not know: a key
 * another instance made a moment ago (two instances starting on an empty database each make a
 * first key; a rotation with `--delay 0`). At most once a second, so that tokens with made-up
 * kids cannot make every request read the database.
 */
export function keySetForUnknownKid(now = Date.now()): Promise<KeySet> {
  if (current && now - current.loadedAt >= UNKNOWN_KID_RELOAD_MS) current = undefined;
  return keySet(now);
}
