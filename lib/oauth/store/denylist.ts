import { db } from "@/lib/platform/db.ts";

/** Puts an access token on the denylist until it expires, and drops entries that have. */
/** `until`: when the token expires, with the verifiers' clock skew. */
export async function denyAccessToken(jti: string, until: Date): Promise<void> {
  const expiresAt = until;
  await db().$transaction([
    db().revokedAccessToken.deleteMany({ where: { expiresAt: { lt: new Date() } } }),
    db().revokedAccessToken.upsert({ where: { jti }, update: {}, create: { jti, expiresAt } }),
  ]);
}
