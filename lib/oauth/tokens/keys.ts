import { importJWK, type JWK } from "jose";
import { registerCache } from "@/lib/platform/caches.ts";
import { settings } from "@/lib/platform/env.ts";
import { publishedKeyRows, SIGNING_ALG } from "@/lib/oauth/store/signing-keys.ts";

export { SIGNING_ALG };

/** A published public key, as it appears in the JWKS (never a private member). */
export interface PublicJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  kid: string;
  alg: typeof SIGNING_ALG;
  use: "sig";
}

interface LoadedKey {
  kid: string;
  activeFrom: number;
  publicJwk: PublicJwk;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export interface KeySet {
  /** The key that signs now: the newest whose `activeFrom` has passed. */
  signer(now?: number): { kid: string; key: CryptoKey };
  /** Public key by `kid`, for verification; undefined for a key we do not publish. */
  verifier(kid: string): CryptoKey | undefined;
  jwks(): { keys: PublicJwk[] };
}

// Imported keys, kept per process across reloads: importing costs more than signing.
const imported = new Map<string, LoadedKey>();

async function importRow(row: { kid: string; publicJwk: string; privateJwk: string; activeFrom: Date }): Promise<LoadedKey> {
  const known = imported.get(row.kid);
  if (known) return { ...known, activeFrom: row.activeFrom.getTime() };
  const publicJwk = JSON.parse(row.publicJwk) as PublicJwk;
  const key: LoadedKey = {
    kid: row.kid,
    activeFrom: row.activeFrom.getTime(),
    publicJwk: { kty: "EC", crv: "P-256", x: publicJwk.x, y: publicJwk.y, kid: row.kid, alg: SIGNING_ALG, use: "sig" },
    privateKey: (await importJWK(JSON.parse(row.privateJwk) as JWK, SIGNING_ALG)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, SIGNING_ALG)) as CryptoKey,
  };
  imported.set(row.kid, key);
  return key;
}

async function loadKeySet(): Promise<KeySet> {
  const keys = await Promise.all((await publishedKeyRows()).map(importRow));
  const byKid = new Map(keys.map((k) => [k.kid, k]));
  const jwks = { keys: keys.map((k) => k.publicJwk) };
  return {
    signer(now = Date.now()) {
      // Newest first; ensureSigningKey guaranteed one active at load time.
      const key = keys.find((k) => k.activeFrom <= now) ?? keys[keys.length - 1];
      if (!key) throw new Error("no signing key");
      return { kid: key.kid, key: key.privateKey };
    },
    verifier: (kid) => byKid.get(kid)?.publicKey,
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
