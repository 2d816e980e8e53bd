import { randomBytes } from "node:crypto";
import { openAtRest } from "@/lib/platform/at-rest.ts";
import { db, sqlExecute, sqlRows } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { registerCache } from "@/lib/platform/caches.ts";
import { serverSecretContext } from "@/lib/oauth/model/sealed-contexts.ts";
import { sealForWrite } from "@/lib/oauth/store/sealing.ts";

const loaded = new Map<string, Promise<Buffer>>();
registerCache("server secrets", { clear: () => loaded.clear() });

/**
 * The server's secret `name` (256 bits): made once, shared by every instance through the
 * database (sealed at rest), loaded once per process.
 */
export function serverSecret(name: string): Promise<Buffer> {
  let secret = loaded.get(name);
  if (secret) return secret;
  secret = (async () => {
    const read = async () => (await sqlRows<{ value: string }>(db(), Prisma.sql`SELECT "value" FROM "ServerSecret" WHERE "name" = ${name}`))[0];
    let row = await read();
    if (!row) {
      // Two instances may race to make it: one insert wins, both then read the winner's.
      const value = await sealForWrite(randomBytes(32).toString("base64url"), serverSecretContext(name));
      await sqlExecute(
        db(),
        Prisma.sql`INSERT INTO "ServerSecret" ("name", "value", "createdAt") VALUES (${name}, ${value}, ${new Date()}) ON CONFLICT ("name") DO NOTHING`,
      );
      row = await read();
    }
    if (!row) throw new Error(`no ${name} secret`);
    return Buffer.from(openAtRest(row.value, serverSecretContext(name)), "base64url");
  })();
  loaded.set(name, secret);
  secret.catch(() => loaded.delete(name));
  return secret;
}
