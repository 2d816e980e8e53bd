import { createHash } from "node:crypto";
import { db, sqlExecute } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/**
 * Records a DPoP proof's `jti` as used until `until` (the end of the window its `iat` is accepted
 * in): true the first time, false for a replay (RFC 9449 §11.1). In the database, so that it holds
 * across instances; one statement, whose conflict says "seen". Expired rows go with the pruning.
 */
export async function useDpopProofOnce(workspaceId: string, jkt: string, jti: string, until: Date): Promise<boolean> {
  // Bounded and uniform whatever the client sends; one key space per workspace and key.
  const id = createHash("sha256").update(`${workspaceId}\n${jkt}\n${jti}`).digest("base64url");
  const inserted = await sqlExecute(db(), Prisma.sql`INSERT INTO "UsedDpopProof" ("id", "expiresAt") VALUES (${id}, ${until}) ON CONFLICT ("id") DO NOTHING`);
  return inserted === 1;
}
