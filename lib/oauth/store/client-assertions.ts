import { createHash } from "node:crypto";
import { db, sqlExecute } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/**
 * Records a client assertion's `jti` as used until `until` (its `exp` and the skew): true the
 * first time, false for a replay (RFC 7523 §3 item 7). In the database, so that it holds across
 * instances; one statement, whose conflict says "seen". Expired rows go with the pruning.
 */
export async function useClientAssertionOnce(workspaceId: string, clientId: string, jti: string, until: Date): Promise<boolean> {
  // Bounded and uniform whatever the client sends, and one key space per client.
  const id = createHash("sha256").update(`${workspaceId}\n${clientId}\n${jti}`).digest("base64url");
  const inserted = await sqlExecute(
    db(),
    Prisma.sql`INSERT INTO "UsedClientAssertion" ("id", "expiresAt") VALUES (${id}, ${until}) ON CONFLICT ("id") DO NOTHING`,
  );
  return inserted === 1;
}
