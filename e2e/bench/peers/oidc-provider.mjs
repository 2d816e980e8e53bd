// A peer the authorization server is measured against: panva's oidc-provider, configured to do the
// same work as far as it goes, and started by run.ts (PORT, and PEER_DB or PEER_PG, from the environment).
// - The client `demo-backend` / `demo-backend-secret` with client_secret_basic.
// - oidc-provider has no password grant. A custom grant (SIGN_IN below) mints an opaque access
//   token and a refresh token for a user named in the request, without any password check: it only
//   fills the token pools, it is never measured.
// - The refresh grant rotates on every use (`rotateRefreshToken: true`, as ours does): it reads the
//   token and its grant, marks the token consumed, stores its successor and an opaque access token,
//   reads the user and signs an ES256 ID token.
// - Introspection and userinfo take the opaque access token: read the token and its grant, and for
//   userinfo the user too.
// - Storage is the app's database: SQLite through better-sqlite3 (WAL, synchronous NORMAL, as the
//   app and the floors), or PostgreSQL through pg's pool when the app runs there; one table for
//   every model, keyed by the model and the token's own value (oidc-provider's opaque tokens are
//   their own ids), with an index by grant for revocation.
// Plain JavaScript run by plain Node, with no loader: oidc-provider ships no type declarations.
// On Node 20 it prints an "Unsupported runtime" warning (it supports Node 22 and later) and works.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import Database from "better-sqlite3";
import pg from "pg";
import Provider, { errors } from "oidc-provider";

const PORT = Number(process.env.PORT);
const SCOPE = "openid profile email";
const SIGN_IN = "urn:ropc-login-kit:bench:sign-in";
const DAY = 86_400;
// Every later ID token says when the user signed in, as ours do (oidc-provider adds auth_time
// when the authorization request asked for it).
const AUTH_TIME = { id_token: { auth_time: { essential: true } } };

/** The table (`WITHOUT ROWID` on SQLite: clustered by its key, as PostgreSQL's primary key index finds it). */
const table = (options = "") =>
  "CREATE TABLE IF NOT EXISTS oidc (model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, grant_id TEXT, uid TEXT, user_code TEXT, " +
  `expires_at BIGINT, consumed_at BIGINT, PRIMARY KEY (model, id))${options};` +
  "CREATE INDEX IF NOT EXISTS oidc_grant ON oidc (grant_id) WHERE grant_id IS NOT NULL;";
const live = "(expires_at IS NULL OR expires_at > $3)";
// One text per statement for both databases, with PostgreSQL's numbered placeholders: each text
// uses $1, $2… once and in order, so that SQLite's anonymous ones replace them.
const SQL = {
  upsert:
    "INSERT INTO oidc (model, id, payload, grant_id, uid, user_code, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) " +
    "ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at",
  find: `SELECT payload, consumed_at FROM oidc WHERE model = $1 AND id = $2 AND ${live}`,
  findByUid: `SELECT payload, consumed_at FROM oidc WHERE model = $1 AND uid = $2 AND ${live}`,
  findByUserCode: `SELECT payload, consumed_at FROM oidc WHERE model = $1 AND user_code = $2 AND ${live}`,
  consume: "UPDATE oidc SET consumed_at = $1 WHERE model = $2 AND id = $3",
  destroy: "DELETE FROM oidc WHERE model = $1 AND id = $2",
  revokeByGrantId: "DELETE FROM oidc WHERE model = $1 AND grant_id = $2",
  userById: "SELECT id, name, email FROM users WHERE id = $1",
  userByName: "SELECT id FROM users WHERE username = $1",
};

/** Each statement as `name(...values)`: the first row, or undefined. Synchronous on SQLite. */
function sqliteStatements(file) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(table(" WITHOUT ROWID"));
  return Object.fromEntries(
    Object.entries(SQL).map(([name, text]) => {
      const statement = db.prepare(text.replace(/\$\d+/g, "?"));
      return [name, statement.reader ? (...values) => statement.get(...values) : (...values) => void statement.run(...values)];
    }),
  );
}

/** The same on PostgreSQL: named prepared statements (parsed once per connection) on pg's pool. */
async function postgresStatements(url) {
  // Kept as the app keeps its own (POSTGRES_POOL in lib/platform/db.ts): opened connections stay.
  const pool = new pg.Pool({ connectionString: url, idleTimeoutMillis: 0, keepAlive: true, keepAliveInitialDelayMillis: 60_000 });
  // BIGINT columns (the instants) as numbers.
  pg.types.setTypeParser(20, Number);
  await pool.query(table());
  return Object.fromEntries(
    Object.entries(SQL).map(([name, text]) => [name, async (...values) => (await pool.query({ name: `peer_${name}`, text, values })).rows[0]]),
  );
}

// PEER_PG (a PostgreSQL URL) when the app runs on PostgreSQL, so that the peer pays for a database
// server as the app does; otherwise an SQLite file (PEER_DB).
const sql = process.env.PEER_PG ? await postgresStatements(process.env.PEER_PG) : sqliteStatements(process.env.PEER_DB ?? ":memory:");

const now = () => Math.floor(Date.now() / 1000);
const stored = (row) => (row ? { ...JSON.parse(row.payload), ...(row.consumed_at ? { consumed: row.consumed_at } : {}) } : undefined);

/** oidc-provider's storage interface over one table. */
class TableAdapter {
  constructor(model) {
    this.model = model;
  }

  async upsert(id, payload, expiresIn) {
    await sql.upsert(
      this.model,
      id,
      JSON.stringify(payload),
      payload.grantId ?? null,
      payload.uid ?? null,
      payload.userCode ?? null,
      expiresIn ? now() + expiresIn : null,
    );
  }

  async find(id) {
    return stored(await sql.find(this.model, id, now()));
  }

  async findByUid(uid) {
    return stored(await sql.findByUid(this.model, uid, now()));
  }

  async findByUserCode(userCode) {
    return stored(await sql.findByUserCode(this.model, userCode, now()));
  }

  async consume(id) {
    await sql.consume(now(), this.model, id);
  }

  async destroy(id) {
    await sql.destroy(this.model, id);
  }

  async revokeByGrantId(grantId) {
    await sql.revokeByGrantId(this.model, grantId);
  }
}

const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });

const provider = new Provider(`http://127.0.0.1:${PORT}/demo/default`, {
  adapter: TableAdapter,
  clients: [
    {
      client_id: "demo-backend",
      client_secret: "demo-backend-secret",
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["refresh_token", SIGN_IN],
      response_types: [],
      redirect_uris: [],
      id_token_signed_response_alg: "ES256",
    },
  ],
  jwks: { keys: [{ ...jwk, kid: randomBytes(8).toString("base64url"), alg: "ES256", use: "sig" }] },
  cookies: { keys: [randomBytes(32).toString("base64url")] },
  claims: { auth_time: null, iss: null, openid: ["sub"], profile: ["name"], email: ["email"] },
  // The user's claims in the ID token too, as ours does (not only at userinfo).
  conformIdTokenClaims: false,
  scopes: ["openid", "profile", "email"],
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true, allowedPolicy: async () => true },
    userinfo: { enabled: true },
  },
  routes: {
    token: "/demo/default/oauth2/token",
    introspection: "/demo/default/oauth2/introspect",
    userinfo: "/demo/default/userinfo",
    jwks: "/demo/default/.well-known/jwks.json",
  },
  // Every grant issues a refresh token, and every refresh rotates it, as ours does.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
  rotateRefreshToken: true,
  ttl: { AccessToken: 3600, IdToken: 3600, RefreshToken: 7 * DAY, Grant: 7 * DAY, Session: 7 * DAY, Interaction: 3600 },
  async findAccount(_ctx, id) {
    const user = await sql.userById(id);
    return user && { accountId: user.id, claims: async () => ({ sub: user.id, name: user.name, email: user.email }) };
  },
});

provider.registerGrantType(
  SIGN_IN,
  async (ctx) => {
    const user = await sql.userByName(ctx.oidc.params.username);
    if (!user) throw new errors.InvalidGrant("unknown user");
    const { client } = ctx.oidc;
    const grant = new provider.Grant({ accountId: user.id, clientId: client.clientId });
    grant.addOIDCScope(SCOPE);
    const grantId = await grant.save();
    const at = new provider.AccessToken({ accountId: user.id, client, grantId, gty: SIGN_IN, scope: SCOPE });
    const rt = new provider.RefreshToken({ accountId: user.id, client, grantId, gty: SIGN_IN, scope: SCOPE, authTime: now(), claims: AUTH_TIME, rotations: 0 });
    ctx.body = { access_token: await at.save(), token_type: at.tokenType, expires_in: at.expiration, scope: SCOPE, refresh_token: await rt.save() };
  },
  "username",
);

provider.on("server_error", (_ctx, error) => process.stderr.write(`oidc-provider peer: ${error.stack}\n`));

createServer(provider.callback()).listen(PORT, "127.0.0.1", () => process.stdout.write("ready\n"));
