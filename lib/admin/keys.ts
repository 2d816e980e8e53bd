import { z } from "zod";
import { AdminError } from "@/lib/admin/errors.ts";
import { change } from "@/lib/admin/transaction.ts";
import { valid } from "@/lib/admin/values.ts";
import {
  generateSigningKeys,
  KeyRetirementRefused,
  listSigningKeys,
  retireSigningKey,
  rotateSigningKey,
  type KeyInfo,
} from "@/lib/oauth/store/signing-keys.ts";
import { settings } from "@/lib/platform/env.ts";
import type { SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";

// Signing keys are deployment-wide: every workspace publishes and uses the same ones.

/** Every key and its state, newest first. */
export function listKeys(): Promise<KeyInfo[]> {
  return listSigningKeys();
}

/** How long a new key is published before it signs (s): a number, or its decimal string; at most a week. */
export function rotationDelay(value: unknown): number {
  return valid(z.coerce.number().int().min(0).max(604800), value, "delay");
}

/**
 * Creates a new key of every algorithm (ES256, RS256, EdDSA), published now and signing after
 * `delaySeconds` (KEY_ROTATION_DELAY_SECONDS when not given), so that every cache of the JWKS
 * knows them before they sign. The old keys keep verifying until the tokens they signed have
 * expired.
 */
export async function rotateKey(delaySeconds?: number): Promise<{ keys: Array<{ kid: string; alg: SigningAlg }>; signsFrom: Date }> {
  const delay = delaySeconds === undefined ? settings().KEY_ROTATION_DELAY_SECONDS : rotationDelay(delaySeconds);
  // Made before the transaction: an RSA key takes a moment, which must not hold the database's lock.
  const keys = await generateSigningKeys();
  const now = new Date();
  await change("key.rotate", { reason: `delay ${delay}s` }, (tx) => rotateSigningKey(delay, tx, now, keys));
  return { keys: keys.map(({ kid, alg }) => ({ kid, alg })), signsFrom: new Date(now.getTime() + delay * 1000) };
}

/**
 * Stops publishing a key. Refused while it signs or may still verify live tokens, unless
 * `force`: then the tokens it signed stop verifying.
 */
export async function retireKey(kid: string, { force = false } = {}): Promise<void> {
  await change("key.retire", { reason: kid }, async (tx) => {
    try {
      await retireSigningKey(kid, { force }, tx);
    } catch (err) {
      if (err instanceof KeyRetirementRefused) throw new AdminError(err.message);
      throw err;
    }
  });
}
