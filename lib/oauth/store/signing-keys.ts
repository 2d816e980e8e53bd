import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { db } from "@/lib/platform/db.ts";
import type { Prisma } from "@/lib/generated/prisma/client.ts";

/** The algorithm of every key we make: ES256 (P-256). */
export const SIGNING_ALG = "ES256";

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

/** The key rows to publish now (not retired, not expired), newest first. */
export async function publishedKeyRows(client: Prisma.TransactionClient = db()) {
  await ensureSigningKey(client);
  const published = new Set((await listSigningKeys(client)).filter((k) => k.state !== "retired" && k.state !== "expired").map((k) => k.kid));
  return (await client.signingKey.findMany({ where: { retiredAt: null }, orderBy: { activeFrom: "desc" } })).filter((r) => published.has(r.kid));
}
