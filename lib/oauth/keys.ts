import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { db, type Db } from "@/lib/db.ts";
import { settings } from "@/lib/env.ts";

export const SIGNING_ALG = "ES256";

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

/** Creates and stores a new ES256 key pair; `activeFrom` in the future pre-publishes it. */
export async function createSigningKey(client: Db = db(), activeFrom: Date = new Date()): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  await client.signingKey.create({
    data: {
      kid,
      alg: SIGNING_ALG,
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg: SIGNING_ALG, use: "sig" }),
      privateJwk: JSON.stringify(await exportJWK(privateKey)),
      activeFrom,
    },
  });
  return kid;
}

/**
 * Makes sure a key can sign now, creating the first one when none exists. Two processes racing
 * here may both create one: harmless, both are published and the newest signs.
 */
export async function ensureSigningKey(client: Db = db()): Promise<void> {
  const usable = await client.signingKey.count({ where: { retiredAt: null, activeFrom: { lte: new Date() } } });
  if (usable === 0) await createSigningKey(client);
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
  await ensureSigningKey();
  const rows = await db().signingKey.findMany({ where: { retiredAt: null }, orderBy: { activeFrom: "desc" } });
  const keys = await Promise.all(rows.map(importRow));
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
