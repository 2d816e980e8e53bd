// The floors the authorization server is measured against: a bare `node:http` server doing the
// same essential work by hand, and nothing else. Started by run.ts; PORT and BASELINE_DB from
// the environment.
// - POST /token, password grant: parse the form, check a Basic client secret (salted SHA-256),
//   one select, argon2id verification with the same parameters, two ES256 signatures, one insert.
// - POST /token, refresh grant: the same client check, hash the refresh token, one transaction
//   whose conditional UPDATE … RETURNING consumes it and whose INSERT stores the HMAC-derived
//   successor, a select of the user's claims, two ES256 signatures, one audit row.
// - POST /introspect and GET /userinfo: verify the ES256 JWT (the key imported once), then two
//   selects: the denylist and the user.
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { verify } from "@node-rs/argon2";
import Database from "better-sqlite3";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT } from "jose";

const db = new Database(process.env.BASELINE_DB ?? ":memory:");
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
const selectUser = db.prepare("SELECT id, hash, name, email FROM users WHERE username = ?");
const selectUserById = db.prepare("SELECT id, username, name, email, disabled FROM users WHERE id = ?");
const insertToken = db.prepare("INSERT INTO tokens (hash, family, user_id, scope, auth_time, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
const consumeToken = db.prepare(
  "UPDATE tokens SET consumed_at = ? WHERE hash = ? AND consumed_at IS NULL AND expires_at > ? RETURNING family, user_id, scope, auth_time",
);
const insertAudit = db.prepare("INSERT INTO audit (id, created_at, event, user_id, ip) VALUES (?, ?, ?, ?, ?)");
const denied = db.prepare("SELECT 1 FROM denylist WHERE jti = ?");
const { privateKey, publicKey } = await generateKeyPair("ES256");
const kid = (await exportJWK(publicKey)).x!.slice(0, 16);
const salt = randomBytes(16);
const secretDigest = createHash("sha256").update(salt).update("demo-backend-secret").digest();
const successorKey = randomBytes(32);
const issuer = `http://127.0.0.1:${process.env.PORT}/demo/default`;
const SCOPE = "openid profile email";

type Json = Record<string, unknown>;
interface User {
  id: string;
  name: string;
  email: string;
}

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
  const user = selectUser.get(params.get("username") ?? "") as (User & { hash: string }) | undefined;
  if (!user || !(await verify(user.hash, params.get("password") ?? ""))) return [400, { error: "invalid_grant" }];
  const refreshToken = randomBytes(32).toString("base64url");
  const now = Date.now();
  insertToken.run(sha256(refreshToken), randomUUID(), user.id, SCOPE, Math.floor(now / 1000), now + 7 * 86_400_000, now);
  return [200, await tokens(user, Math.floor(now / 1000), refreshToken)];
}

const rotate = db.transaction((hash: string, successor: string, now: number) => {
  const consumed = consumeToken.get(now, hash, now) as { family: string; user_id: string; scope: string; auth_time: number } | undefined;
  if (consumed) insertToken.run(sha256(successor), consumed.family, consumed.user_id, consumed.scope, consumed.auth_time, now + 7 * 86_400_000, now);
  return consumed;
});

async function refreshGrant(params: URLSearchParams): Promise<[number, Json]> {
  const presented = params.get("refresh_token") ?? "";
  const successor = createHmac("sha256", successorKey).update(presented).digest("base64url");
  const now = Date.now();
  const consumed = rotate(sha256(presented), successor, now);
  if (!consumed) return [400, { error: "invalid_grant" }];
  const user = selectUserById.get(consumed.user_id) as User;
  insertAudit.run(randomUUID(), now, "token.refresh_token", user.id, "127.0.0.1");
  return [200, await tokens(user, consumed.auth_time, successor)];
}

/** The claims of a live access token and its user, or undefined. */
async function checked(token: string): Promise<{ claims: Json; user: User & { username: string } } | undefined> {
  try {
    const { payload } = await jwtVerify(token, publicKey, { issuer, algorithms: ["ES256"], typ: "at+jwt" });
    if (denied.get(payload.jti)) return undefined;
    const user = selectUserById.get(payload.sub) as (User & { username: string; disabled: number }) | undefined;
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
