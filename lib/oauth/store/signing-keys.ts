import { calculateJwkThumbprint, exportJWK, generateKeyPair, type GenerateKeyPairOptions } from "jose";
import { db, sqlRows } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { isSigningAlg, SIGNING_ALGS, type SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";
import { signingKeyContext } from "@/lib/oauth/model/sealed-contexts.ts";
import { sealForWrite } from "@/lib/oauth/store/sealing.ts";

// RSA keys of 2048 bits (RFC 7518 §3.3's minimum, what every client verifies); Ed25519 for EdDSA.
const KEY_OPTIONS: Record<SigningAlg, GenerateKeyPairOptions> = { ES256: {}, RS256: { modulusLength: 2048 }, EdDSA: { crv: "Ed25519" } };

/** A key pair made and not yet stored. */
export interface NewSigningKey {
  kid: string;
  alg: SigningAlg;
  publicJwk: string;
  privateJwk: string;
}

/** Makes a key pair for `alg` (an RSA one takes a moment: make it before opening a transaction). */
export async function generateSigningKey(alg: SigningAlg): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...KEY_OPTIONS[alg] });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, alg, publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: "sig" }), privateJwk: JSON.stringify(await exportJWK(privateKey)) };
}

/** Every algorithm's new key pair, in SIGNING_ALGS' order. */
export function generateSigningKeys(): Promise<NewSigningKey[]> {
  return Promise.all(SIGNING_ALGS.map(generateSigningKey));
}

async function storeSigningKey(key: NewSigningKey, activeFrom: Date, client: Prisma.TransactionClient): Promise<string> {
  const privateJwk = await sealForWrite(key.privateJwk, signingKeyContext(key.kid), client);
  await client.signingKey.create({ data: { ...key, privateJwk, activeFrom } });
  return key.kid;
}

/** Creates and stores a new key pair for `alg`; `activeFrom` in the future pre-publishes it. */
export async function createSigningKey(client: Prisma.TransactionClient = db(), activeFrom: Date = new Date(), alg: SigningAlg = "ES256"): Promise<string> {
  return storeSigningKey(await generateSigningKey(alg), activeFrom, client);
}

/**
 * Makes sure a key of every algorithm can sign now, creating the first one of an algorithm when
 * none exists (a database from before RS256 and EdDSA gets theirs here). Two processes racing
 * here may both create one: both are published and the newest signs, and a process that loaded
 * its keys before the other's was made reads them again at the first token it does not know
 * (keySetForUnknownKid), not only after KEY_CACHE_SECONDS.
 */
export async function ensureSigningKey(client: Prisma.TransactionClient = db(), now = new Date()): Promise<void> {
  const rows = await client.signingKey.findMany({ select: { kid: true, alg: true, activeFrom: true, retiredAt: true }, orderBy: { activeFrom: "desc" } });
  for (const alg of withoutSigner(rows, now)) await createSigningKey(client, now, alg);
}

/**
 * The algorithms no key may sign for at `now` (`rows` newest first): none signing or pending. A
 * superseded key is no signer, even when the key that superseded it was retired (force-retired
 * after a leak, with no rotation first): a new key is made rather than an older one brought back.
 */
function withoutSigner(rows: Parameters<typeof keyStates>[0], now: Date): SigningAlg[] {
  const signers = new Set(keyStates(rows, 0, now).flatMap((k) => (maySign(k.state) ? [k.alg] : [])));
  return SIGNING_ALGS.filter((alg) => !signers.has(alg));
}

/** A signing key, or a pending one: it signs from its `activeFrom`, or at once when its algorithm has no other. */
const maySign = (state: KeyState) => state === "signing" || state === "pending";

// The longest lifetime any workspace or client gives an access or ID token (s).
const LONGEST_TTL = Prisma.sql`SELECT MAX("ttl") AS "longest" FROM (
    SELECT "accessTokenTtl" AS "ttl" FROM "Workspace" UNION ALL SELECT "idTokenTtl" FROM "Workspace"
    UNION ALL SELECT "accessTokenTtl" FROM "Client" UNION ALL SELECT "idTokenTtl" FROM "Client") AS "lifetimes"`;

type LongestRow = { longest: number | bigint | string | null };
const atLeastAnHour = (rows: LongestRow[]) => Math.max(3600, Number(rows[0]?.longest ?? 0));

/** The longest any token we sign may live (s): how long a superseded key must still verify. */
export async function maxTokenLifetime(client: Prisma.TransactionClient = db()): Promise<number> {
  return atLeastAnHour(await client.$queryRaw<LongestRow[]>(LONGEST_TTL));
}

export type KeyState = "pending" | "signing" | "verifying" | "expired" | "retired";

export interface KeyInfo {
  kid: string;
  alg: SigningAlg;
  state: KeyState;
  activeFrom: Date;
  /** When a newer key took over signing, if one has. */
  supersededAt: Date | null;
  retiredAt: Date | null;
}

/**
 * Every key with its state. Newest first: a key signs from `activeFrom` until the next newer
 * one of its algorithm becomes active; then it only verifies, for as long as a token it signed may live; then it
 * is no longer published. Pending keys are published before they sign, so that every cache of
 * the JWKS knows them first.
 */
export async function listSigningKeys(client: Prisma.TransactionClient = db(), now = new Date()): Promise<KeyInfo[]> {
  const rows = await client.signingKey.findMany({ orderBy: { activeFrom: "desc" } });
  return keyStates(rows, (await maxTokenLifetime(client)) * 1000, now);
}

/** The state of each key (`rows` newest first) at `now`, tokens living at most `lifetime` ms. */
function keyStates(rows: ReadonlyArray<{ kid: string; alg: string; activeFrom: Date; retiredAt: Date | null }>, lifetime: number, now: Date): KeyInfo[] {
  // Per algorithm: a new RS256 key supersedes the RS256 key, never the ES256 one.
  const newerActive = new Map<string, Date>();
  return rows.flatMap((row) => {
    const alg = row.alg;
    // A row of an algorithm this build does not know (written by a newer one) is left alone.
    if (!isSigningAlg(alg)) return [];
    const supersededAt: Date | null = newerActive.get(alg) ?? null;
    let state: KeyState;
    if (row.retiredAt) state = "retired";
    else if (row.activeFrom > now) state = "pending";
    else if (!supersededAt) state = "signing";
    else state = now.getTime() - supersededAt.getTime() < lifetime ? "verifying" : "expired";
    // A key that became active supersedes the older ones for good, even once retired since (a
    // signing key force-retired after a leak): an older key never signs or is published again.
    // One retired while still pending never signed, and supersedes nothing.
    if (row.activeFrom <= now && (!row.retiredAt || row.retiredAt > row.activeFrom)) newerActive.set(alg, row.activeFrom);
    return [{ kid: row.kid, alg, state, activeFrom: row.activeFrom, supersededAt, retiredAt: row.retiredAt }];
  });
}

/**
 * Rotation: a new key of every algorithm (`keys`, made beforehand, or made here), published now,
 * signing after `delaySeconds`; their kids in SIGNING_ALGS' order.
 */
export async function rotateSigningKey(
  delaySeconds: number,
  client: Prisma.TransactionClient = db(),
  now = new Date(),
  keys?: readonly NewSigningKey[],
): Promise<string[]> {
  const activeFrom = new Date(now.getTime() + delaySeconds * 1000);
  const kids: string[] = [];
  for (const key of keys ?? (await generateSigningKeys())) kids.push(await storeSigningKey(key, activeFrom, client));
  return kids;
}

export class KeyRetirementRefused extends Error {}

/**
 * Stops publishing a key. Refused, unless forced, while it signs or while a token it signed may
 * still be alive (retiring it then would make those tokens fail verification).
 */
export async function retireSigningKey(
  kid: string,
  { force = false, replacement }: { force?: boolean; replacement?: NewSigningKey } = {},
  client: Prisma.TransactionClient = db(),
  now = new Date(),
): Promise<Array<{ kid: string; alg: SigningAlg }>> {
  const keys = await listSigningKeys(client, now);
  const key = keys.find((k) => k.kid === kid);
  if (!key) throw new KeyRetirementRefused(`no key ${kid}`);
  if (key.state === "retired") return [];
  if (!force && (key.state === "signing" || key.state === "verifying")) {
    throw new KeyRetirementRefused(`key ${kid} is ${key.state}: tokens it signed may still be in use (use --force to retire it anyway)`);
  }
  await client.signingKey.update({ where: { kid }, data: { retiredAt: now } });
  // The key that signs, forced out with no pending key of its algorithm to take over: a new one
  // signs in its place at once (`replacement`, made beforehand, or made here), rather than none.
  if (key.state !== "signing" || keys.some((k) => k.alg === key.alg && k.state === "pending")) return [];
  const made = replacement?.alg === key.alg ? replacement : await generateSigningKey(key.alg);
  await storeSigningKey(made, now, client);
  return [{ kid: made.kid, alg: made.alg }];
}

/** A key row as the server loads it. */
export interface SigningKeyRow {
  kid: string;
  alg: string;
  publicJwk: string;
  privateJwk: string;
  activeFrom: Date;
  retiredAt: Date | null;
}

/** A published key: `maySign` when it signs or is pending, never once superseded (it only verifies). */
export interface PublishedKeyRow extends SigningKeyRow {
  maySign: boolean;
}

/**
 * The key rows to publish now (not retired, not expired), newest first: what every server reads
 * again each KEY_CACHE_SECONDS (lib/oauth/tokens/keys.ts), so in plain SQL, two statements
 * (lib/platform/db.ts). Where an algorithm has no key that may sign (a new database, one from
 * before RS256 and EdDSA, or one whose signing key was retired by hand), `ensureSigningKey` makes
 * it first.
 */
export async function publishedKeyRows(now = new Date()): Promise<PublishedKeyRow[]> {
  const [loaded, longest] = await Promise.all([signingKeyRows(), sqlRows<LongestRow>(db(), LONGEST_TTL)]);
  let rows = loaded;
  if (withoutSigner(rows, now).length > 0) {
    await ensureSigningKey(db(), now);
    rows = await signingKeyRows();
  }
  const states = new Map(keyStates(rows, atLeastAnHour(longest) * 1000, now).map((k) => [k.kid, k.state]));
  return rows.flatMap((r) => {
    const state = states.get(r.kid);
    return state === undefined || state === "retired" || state === "expired" ? [] : [{ ...r, maySign: maySign(state) }];
  });
}

async function signingKeyRows(): Promise<SigningKeyRow[]> {
  const rows = await sqlRows<{ kid: string; alg: string; publicJwk: string; privateJwk: string; activeFrom: Date | string; retiredAt: Date | string | null }>(
    db(),
    Prisma.sql`SELECT "kid", "alg", "publicJwk", "privateJwk", "activeFrom", "retiredAt" FROM "SigningKey" ORDER BY "activeFrom" DESC`,
  );
  return rows.map((r) => ({ ...r, activeFrom: new Date(r.activeFrom), retiredAt: r.retiredAt === null ? null : new Date(r.retiredAt) }));
}
