// The floors the authorization server is measured against: a bare `node:http` server doing the
// same essential work by hand, and nothing else. Started by run.ts; PORT from the environment, and
// either BASELINE_DB (an SQLite file) or BASELINE_PG (a PostgreSQL URL: the same tables there, for
// a run of the app on PostgreSQL, so that each side pays for a database server).
// - POST /token, password grant: parse the form, check a Basic client secret (salted SHA-256),
//   one select, argon2id verification with the same parameters, two ES256 signatures, one insert.
// - POST /token, refresh grant: the same client check, hash the refresh token, one transaction
//   whose conditional UPDATE … RETURNING consumes it and whose INSERT stores the HMAC-derived
//   successor, a select of the user's claims, two ES256 signatures, one audit row.
// - POST /introspect and GET /userinfo: verify the ES256 JWT (the key imported once), then two
//   selects: the denylist and the user.
// On PostgreSQL each statement is a named prepared statement (parsed once per connection) on pg's
// pool, and the rotation's transaction is one statement (see `rotate`).
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { verify } from "@node-rs/argon2";
import Database from "better-sqlite3";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";
import pg from "pg";

interface User {
  id: string;
  name: string;
  email: string;
}
interface Consumed {
  family: string;
  user_id: string;
  scope: string;
  auth_time: number;
}
type Maybe<T> = T | Promise<T>;

/** The floor's reads and writes: synchronous on SQLite (better-sqlite3), one round trip each on PostgreSQL. */
interface Store {
  userByName(username: string): Maybe<(User & { hash: string }) | undefined>;
  userById(id: string): Maybe<(User & { username: string; disabled: number }) | undefined>;
  insertToken(hash: string, family: string, userId: string, scope: string, authTime: number, expiresAt: number, now: number): Maybe<unknown>;
  /** Consumes `hash` and stores `successorHash` in one transaction, if it was live. */
  rotate(hash: string, successorHash: string, now: number): Maybe<Consumed | undefined>;
  insertAudit(id: string, now: number, event: string, userId: string, ip: string): Maybe<unknown>;
  denied(jti: string): Maybe<boolean>;
}

const SQL = {
  userByName: "SELECT id, hash, name, email FROM users WHERE username = $1",
  userById: "SELECT id, username, name, email, disabled FROM users WHERE id = $1",
  insertToken: "INSERT INTO tokens (hash, family, user_id, scope, auth_time, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
  consumeToken: "UPDATE tokens SET consumed_at = $1 WHERE hash = $2 AND consumed_at IS NULL AND expires_at > $3 RETURNING family, user_id, scope, auth_time",
  insertAudit: "INSERT INTO audit (id, created_at, event, user_id, ip) VALUES ($1, $2, $3, $4, $5)",
  denied: "SELECT 1 FROM denylist WHERE jti = $1",
  rotate:
    "WITH consumed AS (UPDATE tokens SET consumed_at = $1 WHERE hash = $2 AND consumed_at IS NULL AND expires_at > $1 RETURNING family, user_id, scope, auth_time) " +
    "INSERT INTO tokens (hash, family, user_id, scope, auth_time, expires_at, created_at) SELECT $3, family, user_id, scope, auth_time, $4, $1 FROM consumed " +
    "RETURNING family, user_id, scope, auth_time",
};
const WEEK_MS = 7 * 86_400_000;

function sqliteStore(file: string): Store {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  // The same statements, with SQLite's anonymous placeholders (each text uses $1, $2… in order).
  const prepare = (sql: string) => db.prepare(sql.replace(/\$\d+/g, "?"));
  const [userByName, userById, insertToken, consumeToken, insertAudit, denied] = [
    SQL.userByName,
    SQL.userById,
    SQL.insertToken,
    SQL.consumeToken,
    SQL.insertAudit,
    SQL.denied,
  ].map(prepare);
  const rotate = db.transaction((hash: string, successor: string, now: number) => {
    const consumed = consumeToken!.get(now, hash, now) as Consumed | undefined;
    if (consumed) insertToken!.run(successor, consumed.family, consumed.user_id, consumed.scope, consumed.auth_time, now + WEEK_MS, now);
    return consumed;
  });
  return {
    userByName: (username) => userByName!.get(username) as (User & { hash: string }) | undefined,
    userById: (id) => userById!.get(id) as (User & { username: string; disabled: number }) | undefined,
    insertToken: (...row) => insertToken!.run(...row),
    rotate: (hash, successor, now) => rotate(hash, successor, now),
    insertAudit: (...row) => insertAudit!.run(...row),
    denied: (jti) => denied!.get(jti) !== undefined,
  };
}

function postgresStore(url: string): Store {
  // Kept as the app keeps its own (POSTGRES_POOL in lib/platform/db.ts): opened connections stay.
  const pool = new pg.Pool({ connectionString: url, idleTimeoutMillis: 0, keepAlive: true, keepAliveInitialDelayMillis: 60_000 });
  // bigint columns (the instants) as numbers.
  pg.types.setTypeParser(20, Number);
  const named = (name: keyof typeof SQL, values: unknown[]) => ({ name: `floor_${name}`, text: SQL[name], values });
  const one = async <T>(name: keyof typeof SQL, values: unknown[]) => (await pool.query(named(name, values))).rows[0] as T | undefined;
  return {
    userByName: (username) => one("userByName", [username]),
    userById: (id) => one("userById", [id]),
    insertToken: (...row) => pool.query(named("insertToken", row)),
    // One statement, as the app rotates on PostgreSQL: the consuming update is a WITH query that
    // the successor's insert selects from.
    rotate: (hash, successor, now) => one("rotate", [now, hash, successor, now + WEEK_MS]),
    insertAudit: (...row) => pool.query(named("insertAudit", row)),
    denied: async (jti) => (await one("denied", [jti])) !== undefined,
  };
}

const store = process.env.BASELINE_PG ? postgresStore(process.env.BASELINE_PG) : sqliteStore(process.env.BASELINE_DB ?? ":memory:");
const { privateKey, publicKey } = await generateKeyPair("ES256");
const kid = (await exportJWK(publicKey)).x!.slice(0, 16);
const salt = randomBytes(16);
const secretDigest = createHash("sha256").update(salt).update("demo-backend-secret").digest();
const successorKey = randomBytes(32);
const issuer = `http://127.0.0.1:${process.env.PORT}/demo/default`;
const SCOPE = "openid profile email";

type Json = Record<string, unknown>;

function answer(res: ServerResponse, status: number, body: Json) {
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" }).end(JSON.stringify(body));
}

function clientAuthenticated(req: IncomingMessage): boolean {
  const [id, secret] = Buffer.from((req.headers.authorization ?? "").slice(6), "base64")
    .toString()
    .split(":");
  const digest = createHash("sha256")
    .update(salt)
    .update(secret ?? "")
    .digest();
  return id === "demo-backend" && timingSafeEqual(digest, secretDigest);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("base64url");

async function tokens(user: User, authTime: number, refreshToken: string): Promise<Json> {
  const iat = Math.floor(Date.now() / 1000);
  const accessToken = await new SignJWT({
    iss: issuer,
    sub: user.id,
    aud: ["demo-backend"],
    client_id: "demo-backend",
    scope: SCOPE,
    jti: randomUUID(),
    iat,
    nbf: iat,
    exp: iat + 3600,
  })
    .setProtectedHeader({ alg: "ES256", kid, typ: "at+jwt" })
    .sign(privateKey);
  const idToken = await new SignJWT({
    iss: issuer,
    sub: user.id,
    aud: "demo-backend",
    iat,
    exp: iat + 3600,
    auth_time: authTime,
    name: user.name,
    email: user.email,
  })
    .setProtectedHeader({ alg: "ES256", kid })
    .sign(privateKey);
  return { access_token: accessToken, token_type: "bearer", expires_in: 3600, scope: SCOPE, id_token: idToken, refresh_token: refreshToken };
}

async function passwordGrant(params: URLSearchParams): Promise<[number, Json]> {
  const user = await store.userByName(params.get("username") ?? "");
  if (!user || !(await verify(user.hash, params.get("password") ?? ""))) return [400, { error: "invalid_grant" }];
  const refreshToken = randomBytes(32).toString("base64url");
  const now = Date.now();
  await store.insertToken(sha256(refreshToken), randomUUID(), user.id, SCOPE, Math.floor(now / 1000), now + WEEK_MS, now);
  return [200, await tokens(user, Math.floor(now / 1000), refreshToken)];
}

async function refreshGrant(params: URLSearchParams): Promise<[number, Json]> {
  const presented = params.get("refresh_token") ?? "";
  const successor = createHmac("sha256", successorKey).update(presented).digest("base64url");
  const now = Date.now();
  const consumed = await store.rotate(sha256(presented), sha256(successor), now);
  if (!consumed) return [400, { error: "invalid_grant" }];
  const user = (await store.userById(consumed.user_id))!;
  await store.insertAudit(randomUUID(), now, "token.refresh_token", user.id, "127.0.0.1");
  return [200, await tokens(user, consumed.auth_time, successor)];
}

/** The claims of a live access token and its user, or undefined. */
async function checked(token: string): Promise<{ claims: Json; user: User & { username: string } } | undefined> {
  try {
    const { payload } = await jwtVerify(token, publicKey, { issuer, algorithms: ["ES256"], typ: "at+jwt" });
    if (await store.denied(payload.jti ?? "")) return undefined;
    const user = await store.userById(payload.sub ?? "");
    return user && !user.disabled ? { claims: payload as Json, user } : undefined;
  } catch {
    return undefined;
  }
}

async function route(req: IncomingMessage, body: string): Promise<[number, Json]> {
  const path = req.url ?? "/";
  if (path.endsWith("/userinfo")) {
    const found = await checked((req.headers.authorization ?? "").slice(7));
    return found ? [200, { sub: found.user.id, name: found.user.name, email: found.user.email }] : [401, { error: "invalid_token" }];
  }
  if (!clientAuthenticated(req)) return [401, { error: "invalid_client" }];
  const params = new URLSearchParams(body);
  if (path.endsWith("/introspect")) {
    const found = await checked(params.get("token") ?? "");
    return [200, found ? { active: true, ...found.claims, username: found.user.username, token_type: "bearer" } : { active: false }];
  }
  return params.get("grant_type") === "refresh_token" ? refreshGrant(params) : passwordGrant(params);
}

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    void route(req, Buffer.concat(chunks).toString("utf8")).then(([status, body]) => answer(res, status, body));
  });
}).listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("ready\n"));
