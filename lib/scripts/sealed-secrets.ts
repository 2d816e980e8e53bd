// Before the production server serves anything: the secrets it cannot work without (the signing
// keys' private parts, the server secrets) open with this process's KEY_ENCRYPTION_KEY. Without
// it, or with another, the server started, answered /healthz, and failed every token request and
// even its JWKS (a key set is loaded whole): a load balancer kept it in rotation. Read straight
// from the driver, as the migrations are (the launcher loads no Prisma client).
import fs from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { atRestKey, open, SealedValueError } from "@/lib/platform/at-rest.ts";
import { providerOf } from "@/lib/platform/migrations.ts";
import { serverSecretContext, signingKeyContext } from "@/lib/oauth/model/sealed-contexts.ts";
import { sqliteFile } from "@/lib/scripts/migrate.ts";

const QUERIES = [
  { sql: `SELECT "kid" AS "name", "privateJwk" AS "value" FROM "SigningKey"`, context: signingKeyContext },
  { sql: `SELECT "name", "value" FROM "ServerSecret"`, context: serverSecretContext },
] as const;

type Row = { name: string; value: string };

async function rows(databaseUrl: string, busyTimeoutMs: number, sql: string): Promise<Row[]> {
  if (providerOf(databaseUrl) === "postgres") {
    const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: busyTimeoutMs });
    try {
      await client.connect();
      return (await client.query<Row>(sql)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  const file = sqliteFile(databaseUrl);
  if (!fs.existsSync(file)) return [];
  const connection = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  try {
    return connection.prepare(sql).all() as Row[];
  } finally {
    connection.close();
  }
}

/** Why a sealed signing key or server secret does not open with KEY_ENCRYPTION_KEY (the first found), or null. */
export async function sealedSecretsProblem(databaseUrl: string, busyTimeoutMs: number): Promise<string | null> {
  const key = atRestKey();
  for (const { sql, context } of QUERIES) {
    for (const row of await rows(databaseUrl, busyTimeoutMs, sql)) {
      try {
        open(row.value, context(row.name), key);
      } catch (err) {
        if (err instanceof SealedValueError) return err.message;
        throw err;
      }
    }
  }
  return null;
}
