import { atRestKey, seal, SEALED_PREFIX, SealedValueError } from "@/lib/platform/at-rest.ts";
import { db, sqlRows, type Db } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";

/**
 * Whether the database keeps secrets sealed under KEY_ENCRYPTION_KEY: a signing key or a server
 * secret (`key seal` seals every kind at once, and a server with the key writes both sealed).
 */
async function keepsSealedSecrets(client: Db | Prisma.TransactionClient): Promise<boolean> {
  const pattern = `${SEALED_PREFIX}%`;
  const query = Prisma.sql`SELECT 1 AS "sealed" FROM "SigningKey" WHERE "privateJwk" LIKE ${pattern}
    UNION ALL SELECT 1 AS "sealed" FROM "ServerSecret" WHERE "value" LIKE ${pattern} LIMIT 1`;
  // Inside a transaction, its own connection; else the driver's (Prisma's client stays unmade).
  const rows = client === db() ? await sqlRows(db(), query) : await client.$queryRaw<unknown[]>(query);
  return rows.length > 0;
}

/**
 * A new secret as it is to be written (`seal` under KEY_ENCRYPTION_KEY). Without the key it is
 * written as it is, unless the database keeps sealed secrets already: then a process started
 * without the key (a shell where it was not exported) would leave this one readable in every
 * copy of the database beside them, and it is refused instead (SealedValueError, naming it).
 * With the key, no query is made.
 */
export async function sealForWrite(plain: string, context: string, client: Db | Prisma.TransactionClient = db()): Promise<string> {
  const key = atRestKey();
  if (key === null && (await keepsSealedSecrets(client))) {
    throw new SealedValueError(
      `${context} would be written in clear beside secrets sealed with KEY_ENCRYPTION_KEY, which is not set: set it as it is on the servers`,
    );
  }
  return seal(plain, context, key);
}
