// A peer the authorization server is measured against: panva's oidc-provider, configured to do the
// same work as far as it goes, and started by run.ts (PORT and PEER_DB from the environment).
// - The client `demo-backend` / `demo-backend-secret` with client_secret_basic.
// - oidc-provider has no password grant. A custom grant (SIGN_IN below) mints an opaque access
//   token and a refresh token for a user named in the request, without any password check: it only
//   fills the token pools, it is never measured.
// - The refresh grant rotates on every use (`rotateRefreshToken: true`, as ours does): it reads the
//   token and its grant, marks the token consumed, stores its successor and an opaque access token,
//   reads the user and signs an ES256 ID token.
// - Introspection and userinfo take the opaque access token: read the token and its grant, and for
//   userinfo the user too.
// - Storage is SQLite through better-sqlite3 (WAL, synchronous NORMAL, as the app and the floors),
//   one table for every model, keyed by the model and the token's own value (oidc-provider's
//   opaque tokens are their own ids), with an index by grant for revocation.
// Plain JavaScript run by plain Node, with no loader: oidc-provider ships no type declarations.
// On Node 20 it prints an "Unsupported runtime" warning (it supports Node 22 and later) and works.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import Database from "better-sqlite3";
import Provider, { errors } from "oidc-provider";

const PORT = Number(process.env.PORT);
const SCOPE = "openid profile email";
const SIGN_IN = "urn:ropc-login-kit:bench:sign-in";
const DAY = 86_400;
// Every later ID token says when the user signed in, as ours do (oidc-provider adds auth_time
// when the authorization request asked for it).
const AUTH_TIME = { id_token: { auth_time: { essential: true } } };

const db = new Database(process.env.PEER_DB ?? ":memory:");
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.exec(
  "CREATE TABLE IF NOT EXISTS oidc (model TEXT NOT NULL, id TEXT NOT NULL, payload TEXT NOT NULL, grant_id TEXT, uid TEXT, user_code TEXT, expires_at INTEGER, consumed_at INTEGER, PRIMARY KEY (model, id)) WITHOUT ROWID;" +
    "CREATE INDEX IF NOT EXISTS oidc_grant ON oidc (grant_id) WHERE grant_id IS NOT NULL;",
);
const upsert = db.prepare(
  "INSERT INTO oidc (model, id, payload, grant_id, uid, user_code, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) " +
    "ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at",
);
const live = "(expires_at IS NULL OR expires_at > ?)";
const find = db.prepare(`SELECT payload, consumed_at FROM oidc WHERE model = ? AND id = ? AND ${live}`);
const findByUid = db.prepare(`SELECT payload, consumed_at FROM oidc WHERE model = ? AND uid = ? AND ${live}`);
const findByUserCode = db.prepare(`SELECT payload, consumed_at FROM oidc WHERE model = ? AND user_code = ? AND ${live}`);
const consume = db.prepare("UPDATE oidc SET consumed_at = ? WHERE model = ? AND id = ?");
const destroy = db.prepare("DELETE FROM oidc WHERE model = ? AND id = ?");
const revokeByGrantId = db.prepare("DELETE FROM oidc WHERE model = ? AND grant_id = ?");
const userById = db.prepare("SELECT id, name, email FROM users WHERE id = ?");
const userByName = db.prepare("SELECT id FROM users WHERE username = ?");

const now = () => Math.floor(Date.now() / 1000);
const stored = (row) => (row ? { ...JSON.parse(row.payload), ...(row.consumed_at ? { consumed: row.consumed_at } : {}) } : undefined);

/** oidc-provider's storage interface over one SQLite table. */
class SqliteAdapter {
  constructor(model) {
    this.model = model;
  }

  async upsert(id, payload, expiresIn) {
    upsert.run(
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
    return stored(find.get(this.model, id, now()));
  }

  async findByUid(uid) {
    return stored(findByUid.get(this.model, uid, now()));
  }

  async findByUserCode(userCode) {
    return stored(findByUserCode.get(this.model, userCode, now()));
  }

  async consume(id) {
    consume.run(now(), this.model, id);
  }

  async destroy(id) {
    destroy.run(this.model, id);
  }

  async revokeByGrantId(grantId) {
    revokeByGrantId.run(this.model, grantId);
  }
}

const jwk = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" });

const provider = new Provider(`http://127.0.0.1:${PORT}/demo/default`, {
  adapter: SqliteAdapter,
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
    const user = userById.get(id);
    return user && { accountId: user.id, claims: async () => ({ sub: user.id, name: user.name, email: user.email }) };
  },
});

provider.registerGrantType(
  SIGN_IN,
  async (ctx) => {
    const user = userByName.get(ctx.oidc.params.username);
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
