// A second, independent authorization server for the login app's interop test (e2e/interop.spec.ts):
// panva's oidc-provider with a password grant, started by the test as its own process. Settings
// from the environment:
// - PORT: where it listens; the issuer is http://127.0.0.1:PORT (discovery at the root).
// - ACCESS_TOKEN_FORMAT: `opaque` (oidc-provider's own, usable at userinfo) or `jwt` (RFC 9068
//   access tokens for a resource server, through resource indicators: not usable at userinfo,
//   neither stored nor introspectable, as oidc-provider issues them).
// - ACCESS_TOKEN_TTL: seconds, short so that the login app's session has to refresh.
// What it has that the test relies on: one confidential client (`interop-login`, client_secret_basic,
// the password and refresh_token grants), one user (`ada`), refresh tokens rotated on every use,
// RS256 ID tokens (oidc-provider's default), revocation (revoking a refresh token revokes its
// grant) and introspection for its clients, userinfo; and a count of requests that carried our
// end-user headers.
// oidc-provider has no password grant: passwordGrant below is one, registered with
// `registerGrantType`, which issues tokens the way its own grants do (lib/helpers/grant_common.js).
// The bench's peer (e2e/bench/peers/oidc-provider.mjs) is a different configuration of the same
// library: SQLite storage and a grant that only fills token pools, without a password.
// Plain JavaScript run by plain Node: oidc-provider ships no type declarations. On Node 20 it
// prints an "Unsupported runtime" warning (it supports Node 22 and later) and works.
import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import Provider, { errors } from "oidc-provider";

const PORT = Number(process.env.PORT);
const FORMAT = process.env.ACCESS_TOKEN_FORMAT ?? "opaque";
const ACCESS_TOKEN_TTL = Number(process.env.ACCESS_TOKEN_TTL ?? 3600);
if (!PORT || !["opaque", "jwt"].includes(FORMAT) || !(ACCESS_TOKEN_TTL > 0)) {
  throw new Error("PORT, ACCESS_TOKEN_FORMAT (opaque or jwt) and ACCESS_TOKEN_TTL (seconds) are required");
}

const CLIENT = { id: "interop-login", secret: "interop-login-secret-0123456789abcdef" };
const RESOURCE = "https://api.interop.example/";
const RESOURCE_SCOPE = "api:read";
const OIDC_SCOPES = ["openid", "offline_access", "profile", "email"];
const ACCOUNTS = new Map([["ada", { id: "ada-0001", password: "ada-password-1", name: "Ada Lovelace", email: "ada@interop.example" }]]);
const DAY = 86_400;

const digest = (value) => createHash("sha256").update(String(value)).digest();
const now = () => Math.floor(Date.now() / 1000);

const ownToken = async (_ctx, client, token) => token.clientId === client.clientId;

async function findAccount(_ctx, id) {
  const account = [...ACCOUNTS.values()].find((a) => a.id === id);
  return account && { accountId: account.id, claims: async () => ({ sub: account.id, name: account.name, email: account.email }) };
}

const resourceServer = { scope: RESOURCE_SCOPE, audience: RESOURCE, accessTokenFormat: "jwt", accessTokenTTL: ACCESS_TOKEN_TTL };
const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });

const provider = new Provider(`http://127.0.0.1:${PORT}`, {
  clients: [
    {
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["password", "refresh_token"],
      response_types: [],
      redirect_uris: [],
    },
  ],
  jwks: { keys: [{ ...jwk, kid: randomBytes(8).toString("base64url"), alg: "RS256", use: "sig" }] },
  cookies: { keys: [randomBytes(32).toString("base64url")] },
  claims: { openid: ["sub"], profile: ["name"], email: ["email"] },
  // The user's claims in the ID token too (the login app shows them from there).
  conformIdTokenClaims: false,
  scopes: [...OIDC_SCOPES, RESOURCE_SCOPE],
  features: {
    devInteractions: { enabled: false },
    // A client asks about, and revokes, its own tokens only.
    introspection: { enabled: true, allowedPolicy: ownToken },
    revocation: { enabled: true, allowedPolicy: ownToken },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: FORMAT === "jwt",
      defaultResource: () => RESOURCE,
      // Refreshed access tokens are for the resource server too, not for userinfo.
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== RESOURCE) throw new errors.InvalidTarget();
        return resourceServer;
      },
    },
  },
  rotateRefreshToken: true,
  ttl: { AccessToken: ACCESS_TOKEN_TTL, IdToken: 3600, RefreshToken: DAY, Grant: DAY },
  findAccount,
});

/** RFC 6749 §4.3: the password grant, issuing an access token, a refresh token and an ID token. */
async function passwordGrant(ctx) {
  const { username, password, scope = "" } = ctx.oidc.params;
  const account = ACCOUNTS.get(username ?? "");
  // Same work for an unknown user and a wrong password.
  const matches = timingSafeEqual(digest(password ?? ""), digest(account?.password ?? randomBytes(16).toString("hex")));
  if (!account || !matches) throw new errors.InvalidGrant("invalid credentials");
  const { client } = ctx.oidc;
  const scopes = scope.split(" ").filter((s) => OIDC_SCOPES.includes(s));
  const oidcScope = scopes.join(" ");

  const grant = new provider.Grant({ accountId: account.id, clientId: client.clientId });
  grant.addOIDCScope(oidcScope);
  if (FORMAT === "jwt") grant.addResourceScope(RESOURCE, RESOURCE_SCOPE);
  const grantId = await grant.save();
  const found = await findAccount(ctx, account.id);
  ctx.oidc.entity("Grant", grant);
  ctx.oidc.entity("Account", found);

  const at = new provider.AccessToken({ accountId: account.id, client, grantId, gty: "password" });
  if (FORMAT === "jwt") {
    at.resourceServer = new provider.ResourceServer(RESOURCE, resourceServer);
    at.scope = RESOURCE_SCOPE;
  } else {
    at.scope = oidcScope;
  }
  ctx.oidc.entity("AccessToken", at);
  const accessToken = await at.save();

  const authTime = now();
  let refreshToken;
  if (scopes.includes("offline_access")) {
    const rt = new provider.RefreshToken({
      accountId: account.id,
      client,
      grantId,
      gty: "password",
      scope: FORMAT === "jwt" ? `${oidcScope} ${RESOURCE_SCOPE}` : oidcScope,
      resource: FORMAT === "jwt" ? RESOURCE : undefined,
      authTime,
      rotations: 0,
    });
    refreshToken = await rt.save();
  }

  let idToken;
  if (scopes.includes("openid")) {
    const token = new provider.IdToken({ ...(await found.claims("id_token", oidcScope, {}, [])), auth_time: authTime }, { ctx });
    token.scope = oidcScope;
    idToken = await token.issue({ use: "idtoken" });
  }

  ctx.body = {
    access_token: accessToken,
    token_type: at.tokenType,
    expires_in: at.expiration,
    scope: at.scope,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
    ...(idToken ? { id_token: idToken } : {}),
  };
}

provider.registerGrantType("password", passwordGrant, ["username", "password", "scope"]);

// The test asks whether any request carried our own end-user headers (the login app must send
// them only to an issuer that knows them): GET /test/forwarded-headers counts them.
let forwardedHeaders = 0;
provider.use(async (ctx, next) => {
  if (ctx.get("ropc-forwarded-for") || ctx.get("ropc-forwarded-user-agent")) forwardedHeaders += 1;
  if (ctx.method === "GET" && ctx.path === "/test/forwarded-headers") {
    ctx.body = { count: forwardedHeaders };
    return;
  }
  await next();
});
provider.on("server_error", (_ctx, error) => process.stderr.write(`oidc-provider: ${error.stack}\n`));

createServer(provider.callback()).listen(PORT, "127.0.0.1", () => process.stdout.write("ready\n"));
