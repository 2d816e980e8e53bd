import { db, sqlExecute } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/**
 * Puts an access token on the denylist until `until` (its expiry with the verifiers' clock skew);
 * a token denied twice keeps its first row. Expired entries go with the pruning.
 */
export async function denyAccessToken(jti: string, until: Date): Promise<void> {
  await sqlExecute(
    db(),
    Prisma.sql`INSERT INTO "RevokedAccessToken" ("jti", "expiresAt", "revokedAt") VALUES (${jti}, ${until}, ${new Date()}) ON CONFLICT ("jti") DO NOTHING`,
  );
}
