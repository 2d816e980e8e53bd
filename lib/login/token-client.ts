import { createHash } from "node:crypto";
import * as oauth from "oauth4webapi";
import { loginConfig } from "@/lib/login/config.ts";
import { registerCache } from "@/lib/platform/caches.ts";
import { logger } from "@/lib/platform/logger.ts";

/**
 * The login app's client of the authorization server, over HTTP only, with oauth4webapi as the
 * spec-strict client: discovery, the password and refresh grants, revocation. It works against
 * any ROPC server that publishes discovery metadata (a Cloudentity workspace, say).
 */

/**
 * The header in which a trusted server-side client passes the end user's address, so that the
 * authorization server's brute-force defence counts the person, not this app's server. (The
 * server side defines the same name; the login app shares no code with it.)
 */
export const END_USER_IP_HEADER = "ropc-forwarded-for";

/** Beside it, the browser's User-Agent, for the audit trail of the sign-in. */
export const END_USER_AGENT_HEADER = "ropc-forwarded-user-agent";

// A User-Agent is rarely over 300 characters; the audit trail needs no more than this.
const MAX_USER_AGENT_LENGTH = 512;

export const LOGIN_SCOPE = "openid profile email offline_access";

/** What went wrong, in terms the login page can explain. */
export type SignInFailure = "invalid_credentials" | "too_many_attempts" | "unreachable" | "refused";

export class SignInError extends Error {
  constructor(
    readonly reason: SignInFailure,
    detail?: string,
  ) {
    super(reason, { cause: detail });
    this.name = "SignInError";
  }
}

export interface SessionTokens {
  accessToken: string;
  idToken: string;
  refreshToken?: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
  /** Its lifetime (s), to decide how early to refresh. */
  lifetime: number;
}

export interface SignedIn {
  tokens: SessionTokens;
  /** From the validated ID token; absent when a refresh brought none. */
  user?: { sub: string; name?: string; email?: string };
}

interface Server {
  /** Replaced by a copy to make oauth4webapi forget its JWKS (its cache is per metadata object). */
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  auth: oauth.ClientAuth;
  options: { [oauth.allowInsecureRequests]?: boolean; [oauth.customFetch]?: typeof fetch };
  forwardEndUser: boolean;
}

/** Where tests send requests instead of the network. */
let fetchOverride: typeof fetch | undefined;
export function setFetchForTests(f: typeof fetch | undefined): void {
  fetchOverride = f;
  discovered = undefined;
}

const DISCOVERY_TTL_MS = 5 * 60_000;
let discovered: { at: number; server: Promise<Server> } | undefined;
registerCache("login discovery", {
  clear: () => {
    discovered = undefined;
  },
});
let jwksCache: oauth.JWKSCacheInput = {};

// Issuers already reported as unable to revoke, per process (the production server's start-up
// check and Next's bundle of this module share it), so that each says it once.
const UNREVOCABLE = Symbol.for("ropc.login.unrevocable-issuers");
const reported = ((globalThis as Record<symbol, Set<string> | undefined>)[UNREVOCABLE] ??= new Set<string>());

async function discover(): Promise<Server> {
  const { issuer, clientId, clientSecret, forwardEndUser } = loginConfig();
  // http is allowed only for a local issuer (development and tests).
  const insecure = issuer.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(issuer.hostname);
  const options = { ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}), ...(fetchOverride ? { [oauth.customFetch]: fetchOverride } : {}) };
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: "oidc" }));
  if (!as.revocation_endpoint && !reported.has(as.issuer)) {
    reported.add(as.issuer);
    logger.error(
      { event: "login.issuer.no_revocation", issuer: as.issuer },
      "the issuer publishes no revocation_endpoint: sign-out cannot revoke refresh tokens there, so a signed-out session's refresh token stays valid until it expires",
    );
  }
  return { as, client: { client_id: clientId }, auth: oauth.ClientSecretBasic(clientSecret), options, forwardEndUser };
}

/**
 * Discovers the login app's issuer once at start (lib/scripts/serve.ts), so that what it cannot
 * do (no revocation endpoint) is said in the log then, not at the first sign-out.
 */
export async function checkIssuer(): Promise<{ issuer: string; revocation: boolean }> {
  const s = await server();
  return { issuer: s.as.issuer, revocation: s.as.revocation_endpoint !== undefined };
}

function server(now = Date.now()): Promise<Server> {
  if (!discovered || now - discovered.at > DISCOVERY_TTL_MS) {
    const entry = { at: now, server: discover() };
    entry.server.catch(() => {
      if (discovered === entry) discovered = undefined;
    });
    discovered = entry;
  }
  return discovered.server;
}

/**
 * OIDC Core §3.1.3.6, for the ID token's `alg` (ES256 → SHA-256, ES384 → SHA-384, ...; EdDSA,
 * whose Ed25519 hashes with SHA-512, → SHA-512).
 */
export function expectedAtHash(accessToken: string, alg: string): string {
  const bits = alg === "EdDSA" || alg === "Ed25519" ? "512" : alg.slice(2);
  const hash = createHash(bits === "384" ? "sha384" : bits === "512" ? "sha512" : "sha256")
    .update(accessToken, "ascii")
    .digest();
  return hash.subarray(0, hash.length / 2).toString("base64url");
}

function classify(err: unknown): SignInError {
  if (err instanceof SignInError) return err;
  if (err instanceof oauth.ResponseBodyError) {
    if (err.status === 429) return new SignInError("too_many_attempts", err.error);
    if (err.error === "invalid_grant") return new SignInError("invalid_credentials", err.error);
    return new SignInError("refused", `${err.status} ${err.error}`);
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError || err instanceof oauth.OperationProcessingError) {
    return new SignInError("refused", err.message);
  }
  // fetch failures (connection refused, DNS, timeouts) and unparsable answers
  return new SignInError("unreachable", err instanceof Error ? err.message : String(err));
}

/**
 * Processes a token response; the ID token is validated before anything is trusted: claims by
 * oauth4webapi (`iss`, `aud`, `exp`, `iat`, `azp`), its signature against the issuer's JWKS, and
 * `at_hash` against the access token.
 */
async function tokensFrom(s: Server, response: Response, previousIdToken?: string): Promise<SignedIn> {
  const result = await oauth.processGenericTokenEndpointResponse(s.as, s.client, response);
  const claims = oauth.getValidatedIdTokenClaims(result);
  const lifetime = result.expires_in ?? 300;
  const tokens = { accessToken: result.access_token, refreshToken: result.refresh_token, expiresAt: Date.now() + lifetime * 1000, lifetime };
  if (!claims || !result.id_token) {
    // A refresh may come without a new ID token (OIDC Core §12.2): keep the one we validated.
    if (!previousIdToken) throw new SignInError("refused", "no ID token");
    return { tokens: { ...tokens, idToken: previousIdToken } };
  }
  await verifyIdTokenSignature(s, response);
  const header = JSON.parse(Buffer.from(result.id_token.split(".")[0] ?? "", "base64url").toString()) as { alg: string };
  if (claims.at_hash !== undefined && claims.at_hash !== expectedAtHash(result.access_token, header.alg)) {
    throw new SignInError("refused", "at_hash does not match the access token");
  }
  return {
    tokens: { ...tokens, idToken: result.id_token },
    user: {
      sub: claims.sub,
      name: typeof claims.name === "string" ? claims.name : undefined,
      email: typeof claims.email === "string" ? claims.email : undefined,
    },
  };
}

/**
 * The ID token's signature against the issuer's JWKS. oauth4webapi fetches the JWKS again for an
 * unknown `kid` only once its copy is 60 s old; after the issuer rotated its key that failed
 * sign-ins for up to a minute. So an unknown `kid` makes us fetch the JWKS at once, once.
 */
async function verifyIdTokenSignature(s: Server, response: Response): Promise<void> {
  try {
    await oauth.validateApplicationLevelSignature(s.as, response, { ...s.options, [oauth.jwksCache]: jwksCache });
  } catch (err) {
    if (!(err instanceof oauth.OperationProcessingError && err.code === oauth.KEY_SELECTION)) throw err;
    jwksCache = {};
    s.as = { ...s.as };
    await oauth.validateApplicationLevelSignature(s.as, response, { ...s.options, [oauth.jwksCache]: jwksCache });
  }
}

/** The browser a sign-in comes from, as the login app's server saw it. */
export interface EndUser {
  ip?: string;
  userAgent?: string;
}

/** The headers that tell the authorization server who is signing in through us. */
export function endUserHeaders({ ip, userAgent }: EndUser): Record<string, string> {
  const headers: Record<string, string> = {};
  if (ip) headers[END_USER_IP_HEADER] = ip;
  const agent = userAgent?.trim().slice(0, MAX_USER_AGENT_LENGTH);
  if (agent) headers[END_USER_AGENT_HEADER] = agent;
  return headers;
}

/**
 * The password grant as the login app's client, on behalf of the end user at `endUser` (whom the
 * request names only to an issuer that knows our headers: LOGIN_FORWARD_END_USER).
 */
export async function passwordSignIn(username: string, password: string, endUser: EndUser = {}): Promise<SignedIn> {
  try {
    const s = await server();
    const headers = s.forwardEndUser ? endUserHeaders(endUser) : {};
    const response = await oauth.genericTokenEndpointRequest(
      s.as,
      s.client,
      s.auth,
      "password",
      { username, password, scope: LOGIN_SCOPE },
      { ...s.options, headers },
    );
    return await tokensFrom(s, response);
  } catch (err) {
    throw classify(err);
  }
}

/** The refresh grant: the rotated tokens, or a SignInError. */
export async function refreshTokens(refreshToken: string, idToken: string): Promise<SignedIn> {
  try {
    const s = await server();
    const response = await oauth.refreshTokenGrantRequest(s.as, s.client, s.auth, refreshToken, s.options);
    return await tokensFrom(s, response, idToken);
  } catch (err) {
    throw classify(err);
  }
}

/**
 * RFC 7009 revocation of the session's refresh token (and with it, its family): `unsupported`
 * when the issuer has no revocation endpoint (said at start, see `discover`).
 */
export async function revokeRefreshToken(refreshToken: string): Promise<"revoked" | "unsupported"> {
  const s = await server();
  if (!s.as.revocation_endpoint) return "unsupported";
  const response = await oauth.revocationRequest(s.as, s.client, s.auth, refreshToken, {
    ...s.options,
    additionalParameters: { token_type_hint: "refresh_token" },
  });
  await oauth.processRevocationResponse(response);
  return "revoked";
}

/** What the authorization server says of a session's access token. */
export type AccessTokenStatus = "active" | "rejected";

// A page load waits for this check: a server that does not answer must not hold it up for long.
const USERINFO_TIMEOUT_MS = 5_000;

/**
 * Asks the issuer's UserInfo endpoint (OIDC Core §5.3) whether it still honours `accessToken`:
 * 401 (RFC 6750 §3.1, `invalid_token`) means it does not: expired, revoked, or its session ended.
 * Any other failure is a SignInError: the answer is unknown.
 */
export async function accessTokenStatus(accessToken: string): Promise<AccessTokenStatus> {
  let response: Response;
  try {
    const s = await server();
    response = await oauth.userInfoRequest(s.as, s.client, accessToken, { ...s.options, signal: AbortSignal.timeout(USERINFO_TIMEOUT_MS) });
  } catch (err) {
    throw classify(err);
  }
  await response.body?.cancel();
  if (response.status === 401) return "rejected";
  if (response.ok) return "active";
  throw new SignInError("refused", `userinfo answered ${response.status}`);
}
