import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { db } from "@/lib/db.ts";
import type { Prisma } from "@/lib/generated/prisma/client.ts";
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
export async function createSigningKey(client: Prisma.TransactionClient = db(), activeFrom: Date = new Date()): Promise<string> {
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
export async function ensureSigningKey(client: Prisma.TransactionClient = db()): Promise<void> {
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

/** The longest any token we sign may live (s): how long a superseded key must still verify. */
export async function maxTokenLifetime(client: Prisma.TransactionClient = db()): Promise<number> {
  const [w, c] = await Promise.all([
    client.workspace.aggregate({ _max: { accessTokenTtl: true, idTokenTtl: true } }),
    client.client.aggregate({ _max: { accessTokenTtl: true, idTokenTtl: true } }),
  ]);
  return Math.max(3600, w._max.accessTokenTtl ?? 0, w._max.idTokenTtl ?? 0, c._max.accessTokenTtl ?? 0, c._max.idTokenTtl ?? 0);
}

export type KeyState = "pending" | "signing" | "verifying" | "expired" | "retired";

export interface KeyInfo {
  kid: string;
  state: KeyState;
  activeFrom: Date;
  /** When a newer key took over signing, if one has. */
  supersededAt: Date | null;
  retiredAt: Date | null;
}

/**
 * Every key with its state. Newest first: a key signs from `activeFrom` until the next newer
 * one becomes active; then it only verifies, for as long as a token it signed may live; then it
 * is no longer published. Pending keys are published before they sign, so that every cache of
 * the JWKS knows them first.
 */
export async function listSigningKeys(client: Prisma.TransactionClient = db(), now = new Date()): Promise<KeyInfo[]> {
  const rows = await client.signingKey.findMany({ orderBy: { activeFrom: "desc" } });
  const lifetime = (await maxTokenLifetime(client)) * 1000;
  let newerActive: Date | null = null;
  return rows.map((row) => {
    const supersededAt: Date | null = newerActive;
    let state: KeyState;
    if (row.retiredAt) state = "retired";
    else if (row.activeFrom > now) state = "pending";
    else if (!supersededAt) state = "signing";
    else state = now.getTime() - supersededAt.getTime() < lifetime ? "verifying" : "expired";
    if (!row.retiredAt && row.activeFrom <= now) newerActive = row.activeFrom;
    return { kid: row.kid, state, activeFrom: row.activeFrom, supersededAt, retiredAt: row.retiredAt };
  });
}

/** Rotation: a new key, published now, signing after `delaySeconds`. */
export function rotateSigningKey(delaySeconds: number, client: Prisma.TransactionClient = db(), now = new Date()): Promise<string> {
  return createSigningKey(client, new Date(now.getTime() + delaySeconds * 1000));
}

export class KeyRetirementRefused extends Error {}

/**
 * Stops publishing a key. Refused, unless forced, while it signs or while a token it signed may
 * still be alive (retiring it then would make those tokens fail verification).
 */
export async function retireSigningKey(kid: string, { force = false } = {}, client: Prisma.TransactionClient = db(), now = new Date()): Promise<void> {
  const key = (await listSigningKeys(client, now)).find((k) => k.kid === kid);
  if (!key) throw new KeyRetirementRefused(`no key ${kid}`);
  if (key.state === "retired") return;
  if (!force && (key.state === "signing" || key.state === "verifying")) {
    throw new KeyRetirementRefused(`key ${kid} is ${key.state}: tokens it signed may still be in use (use --force to retire it anyway)`);
  }
  await client.signingKey.update({ where: { kid }, data: { retiredAt: now } });
}

async function loadKeySet(): Promise<KeySet> {
  await ensureSigningKey();
  const published = new Set((await listSigningKeys()).filter((k) => k.state !== "retired" && k.state !== "expired").map((k) => k.kid));
  const rows = (await db().signingKey.findMany({ where: { retiredAt: null }, orderBy: { activeFrom: "desc" } })).filter((r) => published.has(r.kid));
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
