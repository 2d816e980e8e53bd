import { AdminError } from "@/lib/admin/errors.ts";
import { change } from "@/lib/admin/transaction.ts";
import { jwtSecretContext } from "@/lib/oauth/model/client.ts";
import { factorSecretContext } from "@/lib/oauth/store/mfa.ts";
import { serverSecretContext, signingKeyContext } from "@/lib/oauth/model/sealed-contexts.ts";
import { atRestKey, isSealed, openAtRest, sealAtRest, SealedValueError } from "@/lib/platform/at-rest.ts";
import { KEY_ENCRYPTION_KEY_FORMAT } from "@/lib/platform/key-encryption-key.ts";

/** How many stored secrets of each kind `sealStoredSecrets` sealed. */
export interface SealedSecrets {
  signingKeys: number;
  serverSecrets: number;
  totpSecrets: number;
  clientSecrets: number;
}

/**
 * Seals, under KEY_ENCRYPTION_KEY, every secret the database still keeps in plain form (written
 * before the setting was set); what is sealed already is checked to open with this key, and left
 * as it is. Safe to run again. One transaction: all of it, or nothing.
 */
export async function sealStoredSecrets(): Promise<SealedSecrets> {
  if (!atRestKey())
    throw new AdminError(`KEY_ENCRYPTION_KEY is not set: it ${KEY_ENCRYPTION_KEY_FORMAT}; set the same value on every instance, then run this again`);
  return change<SealedSecrets>(
    "key.seal",
    (done) => ({
      reason: Object.entries(done)
        .map(([kind, n]) => `${kind} ${n}`)
        .join(", "),
    }),
    async (tx) => {
      // Each value: sealed when plain; opened (and so checked) when sealed already.
      const reseal = (stored: string, context: string): string | null => {
        if (!isSealed(stored)) return sealAtRest(stored, context);
        try {
          openAtRest(stored, context);
        } catch (err) {
          if (err instanceof SealedValueError) throw new AdminError(`${err.message}: nothing was changed`);
          throw err;
        }
        return null;
      };
      const done: SealedSecrets = { signingKeys: 0, serverSecrets: 0, totpSecrets: 0, clientSecrets: 0 };
      for (const k of await tx.signingKey.findMany({ select: { kid: true, privateJwk: true } })) {
        const sealed = reseal(k.privateJwk, signingKeyContext(k.kid));
        if (sealed !== null)
          done.signingKeys += (await tx.signingKey.updateMany({ where: { kid: k.kid, privateJwk: k.privateJwk }, data: { privateJwk: sealed } })).count;
      }
      for (const x of await tx.serverSecret.findMany({ select: { name: true, value: true } })) {
        const sealed = reseal(x.value, serverSecretContext(x.name));
        if (sealed !== null)
          done.serverSecrets += (await tx.serverSecret.updateMany({ where: { name: x.name, value: x.value }, data: { value: sealed } })).count;
      }
      for (const f of await tx.mfaFactor.findMany({ select: { id: true, userId: true, secret: true } })) {
        const sealed = reseal(f.secret, factorSecretContext(f.userId));
        if (sealed !== null) done.totpSecrets += (await tx.mfaFactor.updateMany({ where: { id: f.id, secret: f.secret }, data: { secret: sealed } })).count;
      }
      for (const c of await tx.client.findMany({
        where: { jwtSecret: { not: null } },
        select: { id: true, workspaceId: true, clientId: true, jwtSecret: true },
      })) {
        const sealed = reseal(c.jwtSecret ?? "", jwtSecretContext(c.workspaceId, c.clientId));
        if (sealed !== null)
          done.clientSecrets += (await tx.client.updateMany({ where: { id: c.id, jwtSecret: c.jwtSecret }, data: { jwtSecret: sealed } })).count;
      }
      return done;
    },
  );
}
