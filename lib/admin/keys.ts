import { AdminError } from "@/lib/admin/errors.ts";
import { change } from "@/lib/admin/transaction.ts";
import { valid, wholeNumber } from "@/lib/admin/values.ts";
import {
  generateSigningKey,
  generateSigningKeys,
  KeyRetirementRefused,
  listSigningKeys,
  retireSigningKey,
  rotateSigningKey,
  type KeyInfo,
  type NewSigningKey,
} from "@/lib/oauth/store/signing-keys.ts";
import { signingKeyContext } from "@/lib/oauth/model/sealed-contexts.ts";
import { settings } from "@/lib/platform/env.ts";
import { db } from "@/lib/platform/db.ts";
import { atRestKey, isSealed, openAtRest, SealedValueError } from "@/lib/platform/at-rest.ts";
import type { SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";

// Signing keys are deployment-wide: every workspace publishes and uses the same ones.

/** Every key and its state, newest first. */
export function listKeys(): Promise<KeyInfo[]> {
  return listSigningKeys();
}

/** How long a new key is published before it signs (s): a number, or its decimal string; at most a week. */
export function rotationDelay(value: unknown): number {
  return valid(wholeNumber(0, 604800), value, "delay");
}

/**
 * Creates a new key of every algorithm (ES256, RS256, EdDSA), published now and signing after
 * `delaySeconds` (KEY_ROTATION_DELAY_SECONDS when not given), so that every cache of the JWKS
 * knows them before they sign. The old keys keep verifying until the tokens they signed have
 * expired.
 */
export async function rotateKey(delaySeconds?: number): Promise<{ keys: Array<{ kid: string; alg: SigningAlg }>; signsFrom: Date }> {
  const delay = delaySeconds === undefined ? settings().KEY_ROTATION_DELAY_SECONDS : rotationDelay(delaySeconds);
  await assertSealedAlike();
  // Made before the transaction: an RSA key takes a moment, which must not hold the database's lock.
  const keys = await generateSigningKeys();
  const now = new Date();
  await change("key.rotate", { reason: `delay ${delay}s` }, (tx) => rotateSigningKey(delay, tx, now, keys));
  return { keys: keys.map(({ kid, alg }) => ({ kid, alg })), signsFrom: new Date(now.getTime() + delay * 1000) };
}

/**
 * New keys are sealed with this shell's KEY_ENCRYPTION_KEY (kept plain without one), and a server
 * opens every published key when it loads them: one it cannot open stops it signing at all, at
 * once (a new key is published at once). So the keys in use must open with this shell's setting,
 * as they do on the servers: sealed ones with its key, plain ones only without one (`key seal`
 * seals those first). `except`: a key being retired, which need not open.
 */
async function assertSealedAlike(except?: string): Promise<void> {
  const unchanged = "nothing was changed";
  const where = except === undefined ? { retiredAt: null } : { retiredAt: null, kid: { not: except } };
  for (const k of await db().signingKey.findMany({ where, select: { kid: true, privateJwk: true } })) {
    if (!isSealed(k.privateJwk)) {
      if (atRestKey())
        throw new AdminError(
          `The signing keys are stored unsealed, and this shell has KEY_ENCRYPTION_KEY: run \`key seal\` with the servers' value first, or unset it here as it is on the servers; ${unchanged}`,
        );
      continue;
    }
    try {
      openAtRest(k.privateJwk, signingKeyContext(k.kid));
    } catch (err) {
      if (err instanceof SealedValueError) throw new AdminError(`${err.message}: set KEY_ENCRYPTION_KEY in this shell as it is on the servers; ${unchanged}`);
      throw err;
    }
  }
}

/**
 * Stops publishing a key. Refused while it signs or may still verify live tokens, unless
 * `force`: then the tokens it signed stop verifying, and when it was the key that signed, with no
 * pending key of its algorithm, a new key of its algorithm signs in its place at once (answered).
 */
export async function retireKey(kid: string, { force = false } = {}): Promise<{ replacements: Array<{ kid: string; alg: SigningAlg }> }> {
  const keys = await listSigningKeys();
  const key = keys.find((k) => k.kid === kid);
  // Made before the transaction when it will be needed (as retireSigningKey decides), sealed as
  // the keys in use are (as by `key rotate`): the one retired aside, which may be one no shell
  // can open any more.
  let replacement: NewSigningKey | undefined;
  if (force && key?.state === "signing" && !keys.some((k) => k.alg === key.alg && k.state === "pending")) {
    await assertSealedAlike(kid);
    replacement = await generateSigningKey(key.alg);
  }
  const details = (made: Array<{ kid: string }>) => ({ reason: made.length === 0 ? kid : `${kid}, replaced by ${made.map((k) => k.kid).join(", ")}` });
  const replacements = await change("key.retire", details, async (tx) => {
    try {
      return await retireSigningKey(kid, { force, replacement }, tx);
    } catch (err) {
      if (err instanceof KeyRetirementRefused) throw new AdminError(err.message);
      throw err;
    }
  });
  return { replacements };
}
