import { createHash } from "node:crypto";
import * as oauth from "oauth4webapi";
import { loginConfig } from "@/lib/login/config.ts";
import { registerCache } from "@/lib/platform/caches.ts";
import { logger } from "@/lib/platform/logger.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

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

/** The scope of an account API (the /account page's sessions, password, activity), where the issuer has one. */
export const ACCOUNT_SCOPE = "account";

/**
 * What the app asks for at sign-in: LOGIN_SCOPE, and `account` when the issuer's discovery lists
 * it (another server may refuse a scope it does not know: RFC 6749 §5.2 `invalid_scope`).
 */
export function signInScope(as: Pick<oauth.AuthorizationServer, "scopes_supported">): string {
  return as.scopes_supported?.includes(ACCOUNT_SCOPE) ? `${LOGIN_SCOPE} ${ACCOUNT_SCOPE}` : LOGIN_SCOPE;
}

/**
 * What went wrong, in terms the login page can explain. `mfa_required` is the password grant's
 * step-up (a {@link SecondFactorRequired}); `invalid_code` a wrong, used or replayed code while
 * the step lives; `mfa_expired` a step the server no longer honours (expired, or too many wrong
 * codes): the user starts again from the password.
 */
export type SignInFailure =
  | "invalid_credentials"
  | "too_many_attempts"
  | "unreachable"
  | "refused"
  | "mfa_required"
  | "invalid_code"
  | "mfa_expired"
  // A change of the second factor by password, from a session that signed in without it.
  | "code_required"
  // Too many wrong codes in a row: the authenticator's codes are refused until a recovery code passes.
  | "otp_locked";

export class SignInError extends Error {
  constructor(
    readonly reason: SignInFailure,
    detail?: string,
    /** For `too_many_attempts`: when the server said to try again (its `Retry-After`), in ms since the epoch. */
    readonly retryAt?: number,
  ) {
    super(reason, { cause: detail });
    this.name = "SignInError";
  }
}

// A day: a Retry-After beyond it is not a lockout's wait we would show.
const MAX_RETRY_AFTER_SECONDS = 86_400;

/** RFC 9110 §10.2.3 `Retry-After` (delay-seconds or an HTTP date) as a time, when it says one. */
export function retryAt(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  const at = /^\d{1,9}$/.test(value) ? now + Number(value) * 1000 : Date.parse(value);
  return Number.isFinite(at) && at > now && at - now <= MAX_RETRY_AFTER_SECONDS * 1000 ? at : undefined;
}

/**
 * Auth0's step-up: the password was right, but the server asks for a second factor. The
 * `mfa_token` names the pending sign-in at the MFA grants and the /mfa endpoints; it is a
 * credential and never leaves the login app's server unencrypted.
 */
export class SecondFactorRequired extends SignInError {
  constructor(readonly mfaToken: string) {
    super("mfa_required");
    this.name = "SecondFactorRequired";
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
  /**
   * Whether the session check asks the issuer's introspection endpoint: while it lists one and
   * has not refused this client (forgotten with the discovery, so asked again after a while).
   */
  introspection: boolean;
}

/** Where tests send requests instead of the network. */
let fetchOverride: typeof fetch | undefined;
export function setFetchForTests(f: typeof fetch | undefined): void {
  fetchOverride = f;
  discovered = undefined;
}

const DISCOVERY_TTL_MS = 5 * 60_000;

/**
 * How long the login app waits for each request to its issuer (discovery, the token endpoint, its
 * JWKS, revocation, the MFA API): a sign-in, or a page load waiting for a refresh, must not hang on
 * a server that took the connection and never answers. A timed-out sign-in says the server is
 * unreachable; a timed-out refresh keeps the session (lib/login/session.ts).
 */
export const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

/** `options` with a timeout of its own: a signal is made per request, as its clock starts when it is made. */
function timed<T extends object>(options: T): T & { signal: AbortSignal } {
  return { ...options, signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS) };
}
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

/** oauth4webapi's options for requests to `issuer`: http only for a local issuer (development and tests). */
export function requestOptions(issuer: URL): Server["options"] {
  const insecure = issuer.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(issuer.hostname);
  return { ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}), ...(fetchOverride ? { [oauth.customFetch]: fetchOverride } : {}) };
}

async function discover(): Promise<Server> {
  const { issuer, clientId, clientSecret, forwardEndUser } = loginConfig();
  const options = requestOptions(issuer);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, timed({ ...options, algorithm: "oidc" as const })));
  if (!as.revocation_endpoint && !reported.has(as.issuer)) {
    reported.add(as.issuer);
    logger.error(
      { event: "login.issuer.no_revocation", issuer: as.issuer },
      "the issuer publishes no revocation_endpoint: sign-out cannot revoke refresh tokens there, so a signed-out session's refresh token stays valid until it expires",
    );
  }
  return {
    as,
    client: { client_id: clientId },
    auth: oauth.ClientSecretBasic(clientSecret),
    options,
    forwardEndUser,
    introspection: as.introspection_endpoint !== undefined,
  };
}

/** The issuer's discovery document, for the login app's calls beyond sign-in (password recovery, lib/login/recovery.ts). */
export async function issuerMetadata(): Promise<oauth.AuthorizationServer> {
  return (await server()).as;
}

/** The fetch the login app's calls go through (tests answer them in-process). */
export function loginFetch(): typeof fetch {
  return fetchOverride ?? fetch;
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
    const mfaToken = err.error === "mfa_required" ? err.cause.mfa_token : undefined;
    if (typeof mfaToken === "string" && mfaToken) return new SecondFactorRequired(mfaToken);
    if (err.status === 429) return new SignInError("too_many_attempts", err.error, retryAt(err.response.headers.get("retry-after")));
    if (err.error === "otp_locked") return new SignInError("otp_locked", err.error);
    if (err.error === "invalid_grant") return new SignInError("invalid_credentials", err.error);
    return new SignInError("refused", `${err.status} ${err.error}`);
  }
  if (err instanceof oauth.WWWAuthenticateChallengeError || err instanceof oauth.OperationProcessingError) {
    return new SignInError("refused", err.message);
  }
  // fetch failures (connection refused, DNS, timeouts) and unparsable answers
  return new SignInError("unreachable", messageOf(err));
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
    await oauth.validateApplicationLevelSignature(s.as, response, timed({ ...s.options, [oauth.jwksCache]: jwksCache }));
  } catch (err) {
    if (!(err instanceof oauth.OperationProcessingError && err.code === oauth.KEY_SELECTION)) throw err;
    jwksCache = {};
    s.as = { ...s.as };
    await oauth.validateApplicationLevelSignature(s.as, response, timed({ ...s.options, [oauth.jwksCache]: jwksCache }));
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
      { username, password, scope: signInScope(s.as) },
      timed({ ...s.options, headers }),
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
    const response = await oauth.refreshTokenGrantRequest(s.as, s.client, s.auth, refreshToken, timed(s.options));
    return await tokensFrom(s, response, idToken);
  } catch (err) {
    throw classify(err);
  }
}

/**
 * What an issuer's revocation endpoint answers for a token it had already ended, where it does
 * not answer 200 as RFC 7009 §2.2 asks (Google's: 400 `invalid_token`, "Token expired or
 * revoked"). Any other refusal says nothing of the token, which may live on: the client's
 * authentication, a malformed request, and `invalid_grant`, which Authlib's endpoint answers for
 * a live token of another client.
 */
const ALREADY_ENDED = new Set(["invalid_token"]);

/**
 * RFC 7009 revocation of the session's refresh token (and with it, its family): `unsupported`
 * when the issuer has no revocation endpoint (said at start, see `discover`); `already_ended`
 * when the issuer refused it as a token it had already ended (ALREADY_ENDED).
 */
export async function revokeRefreshToken(refreshToken: string): Promise<"revoked" | "already_ended" | "unsupported"> {
  const s = await server();
  if (!s.as.revocation_endpoint) return "unsupported";
  const response = await oauth.revocationRequest(
    s.as,
    s.client,
    s.auth,
    refreshToken,
    timed({ ...s.options, additionalParameters: { token_type_hint: "refresh_token" } }),
  );
  try {
    await oauth.processRevocationResponse(response);
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError && err.status === 400 && ALREADY_ENDED.has(err.error)) {
      logger.info({ event: "logout.already_ended", error: err.error }, "sign-out: the issuer says the session's refresh token had already ended");
      return "already_ended";
    }
    throw err;
  }
  return "revoked";
}

/** What the authorization server says of a session. */
export type SessionStatus = "active" | "rejected";

// A page load waits for this check: a server that does not answer must not hold it up for long.
const SESSION_CHECK_TIMEOUT_MS = 5_000;

/**
 * Asks the issuer whether it still honours a session: at its introspection endpoint (RFC 7662)
 * about the refresh token when it has one, else at UserInfo (OIDC Core §5.3) with the access
 * token. The refresh token first because it is what sign-out revokes and what outlives every
 * access token, and because an access token need not be usable at UserInfo: one issued for an
 * API (RFC 8707 resource indicators, RFC 9068 JWTs) is refused there (oidc-provider answers 401)
 * although the session lives. An issuer that does not let this client introspect (our own, where
 * that takes the `introspect_tokens` scope) is asked at UserInfo from then on. Any other failure
 * is a SignInError: the answer is unknown.
 */
export async function sessionStatus({ accessToken, refreshToken }: Pick<SessionTokens, "accessToken" | "refreshToken">): Promise<SessionStatus> {
  let s: Server;
  try {
    s = await server();
  } catch (err) {
    throw classify(err);
  }
  if (refreshToken && s.introspection) {
    const status = await refreshTokenStatus(s, refreshToken);
    if (status) return status;
  }
  return accessTokenStatus(s, accessToken);
}

/** The refresh token's `active` (RFC 7662 §2.2), or undefined when the issuer will not tell this client. */
async function refreshTokenStatus(s: Server, refreshToken: string): Promise<SessionStatus | undefined> {
  let response: Response;
  try {
    response = await oauth.introspectionRequest(s.as, s.client, s.auth, refreshToken, {
      ...s.options,
      additionalParameters: { token_type_hint: "refresh_token" },
      signal: AbortSignal.timeout(SESSION_CHECK_TIMEOUT_MS),
    });
  } catch (err) {
    throw classify(err);
  }
  if (response.status >= 400 && response.status < 500) {
    await response.body?.cancel();
    s.introspection = false;
    logger.info(
      { event: "login.issuer.no_introspection", issuer: s.as.issuer, status: response.status },
      "the issuer does not let the login app introspect its refresh tokens: sessions are checked at its UserInfo endpoint",
    );
    return undefined;
  }
  try {
    return (await oauth.processIntrospectionResponse(s.as, s.client, response)).active === true ? "active" : "rejected";
  } catch (err) {
    throw classify(err);
  }
}

/** The access token at UserInfo: 401 (RFC 6750 §3.1, `invalid_token`) means expired, revoked, or its session ended. */
async function accessTokenStatus(s: Server, accessToken: string): Promise<SessionStatus> {
  let response: Response;
  try {
    response = await oauth.userInfoRequest(s.as, s.client, accessToken, { ...s.options, signal: AbortSignal.timeout(SESSION_CHECK_TIMEOUT_MS) });
  } catch (err) {
    throw classify(err);
  }
  await response.body?.cancel();
  if (response.status === 401) return "rejected";
  if (response.ok) return "active";
  throw new SignInError("refused", `userinfo answered ${response.status}`);
}

/** Auth0's grant types for the second step of a sign-in that answered `mfa_required`. */
export const MFA_OTP_GRANT = "http://auth0.com/oauth/grant-type/mfa-otp";
export const MFA_RECOVERY_CODE_GRANT = "http://auth0.com/oauth/grant-type/mfa-recovery-code";

/** What the user typed at the second step. */
export type SecondFactor = { otp: string } | { recoveryCode: string };

/**
 * The second step of a sign-in (Auth0's `mfa-otp` and `mfa-recovery-code` grants) as the login
 * app's client: the full token response, validated like the password grant's. A refused code is
 * `invalid_code` while the `mfa_token` still lives and `mfa_expired` once it does not: servers
 * answer both with `invalid_grant` (Auth0 says `expired_token` for the second), so the token is
 * asked about at the authenticators endpoint.
 */
export async function secondFactorSignIn(mfaToken: string, factor: SecondFactor, endUser: EndUser = {}): Promise<SignedIn> {
  let s: Server;
  try {
    s = await server();
    const [grant, parameters] =
      "otp" in factor
        ? [MFA_OTP_GRANT, { mfa_token: mfaToken, otp: factor.otp }]
        : [MFA_RECOVERY_CODE_GRANT, { mfa_token: mfaToken, recovery_code: factor.recoveryCode }];
    const response = await oauth.genericTokenEndpointRequest(
      s.as,
      s.client,
      s.auth,
      grant,
      parameters,
      timed({ ...s.options, headers: s.forwardEndUser ? endUserHeaders(endUser) : {} }),
    );
    return await tokensFrom(s, response);
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError && err.error === "expired_token") throw new SignInError("mfa_expired", err.error);
    const failure = classify(err);
    if (failure.reason !== "invalid_credentials") throw failure;
    const alive = await mfaAuthenticators(mfaToken).then(
      () => true,
      (e: unknown) => !(e instanceof SignInError && e.reason === "mfa_expired"),
    );
    throw new SignInError(alive ? "invalid_code" : "mfa_expired", failure.message);
  }
}

/** A second factor the user has (Auth0's `GET /mfa/authenticators`). */
export interface Authenticator {
  id: string;
  type: string;
  active: boolean;
}

/** A new TOTP factor, before it is confirmed: what the user copies into an authenticator app. */
export interface OtpEnrolment {
  secret: string;
  /** The `otpauth://totp/…` URI an app reads from a QR code. */
  barcodeUri: string;
  recoveryCodes: string[];
}

/** `{issuer}/mfa/…`: Auth0's MFA API sits under the issuer; discovery does not list it. */
function mfaEndpoint(s: Server, path: string): URL {
  return new URL(`${s.as.issuer.replace(/\/$/, "")}/mfa/${path}`);
}

/**
 * A call to the MFA API with `bearer` (an `mfa_token` during a sign-in, or the session's access
 * token). 401 is `mfa_expired`: the bearer is no longer honoured; but one that asks for a stronger
 * sign-in (RFC 9470's `insufficient_user_authentication`) is `code_required`.
 */
async function mfaRequest(bearer: string, method: "GET" | "POST", path: string, body?: URLSearchParams): Promise<unknown> {
  let response: Response;
  try {
    const s = await server();
    response = await (fetchOverride ?? fetch)(mfaEndpoint(s, path), {
      method,
      headers: { Accept: "application/json", Authorization: `Bearer ${bearer}` },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    throw classify(err);
  }
  if (response.status === 401) {
    await response.body?.cancel();
    // RFC 9470 step-up: the session is fine, but its sign-in did not pass the second factor, so
    // the password does not prove this change (a current code does).
    if (/error="insufficient_user_authentication"/.test(response.headers.get("www-authenticate") ?? "")) throw new SignInError("code_required", "401");
    throw new SignInError("mfa_expired", "401");
  }
  let json: unknown = null;
  try {
    const text = await response.text();
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new SignInError("refused", `${path}: not JSON`);
  }
  if (response.ok) return json;
  const error = json && typeof json === "object" && "error" in json && typeof json.error === "string" ? json.error : `HTTP ${response.status}`;
  if (response.status === 429) throw new SignInError("too_many_attempts", error, retryAt(response.headers.get("retry-after")));
  if (error === "invalid_grant") throw new SignInError("invalid_code", error);
  if (error === "otp_locked") throw new SignInError("otp_locked", error);
  throw new SignInError("refused", `${response.status} ${error}`);
}

/** The user's second factors (Auth0's `GET /mfa/authenticators`), with an `mfa_token` or an access token. */
export async function mfaAuthenticators(bearer: string): Promise<Authenticator[]> {
  const list = await mfaRequest(bearer, "GET", "authenticators");
  if (!Array.isArray(list)) throw new SignInError("refused", "authenticators: not a list");
  return list.flatMap((a: unknown) =>
    a && typeof a === "object" && "id" in a && typeof a.id === "string" && "authenticator_type" in a && typeof a.authenticator_type === "string"
      ? [{ id: a.id, type: a.authenticator_type, active: "active" in a && a.active === true }]
      : [],
  );
}

/**
 * Starts a TOTP enrolment (Auth0's `POST /mfa/associate`): with an `mfa_token` during a sign-in, or
 * with the session's access token and the user's password.
 */
export async function associateOtp(bearer: string, password?: string): Promise<OtpEnrolment> {
  const params = new URLSearchParams({ authenticator_types: "otp" });
  if (password !== undefined) params.set("password", password);
  const answer = await mfaRequest(bearer, "POST", "associate", params);
  const { secret, barcode_uri: barcodeUri, recovery_codes: recoveryCodes } = (answer ?? {}) as Record<string, unknown>;
  if (typeof secret !== "string" || typeof barcodeUri !== "string" || !Array.isArray(recoveryCodes) || !recoveryCodes.every((c) => typeof c === "string")) {
    throw new SignInError("refused", "associate: unexpected answer");
  }
  return { secret, barcodeUri, recoveryCodes };
}

/** How a signed-in user proves it is them before changing their second factor. */
export type Proof = { otp: string } | { password: string };

function proofParams(proof: Proof): URLSearchParams {
  return new URLSearchParams("otp" in proof ? { otp: proof.otp } : { password: proof.password });
}

/** Confirms an enrolment started from a session with a current code of the new factor. */
export async function confirmOtpEnrolment(accessToken: string, otp: string): Promise<void> {
  await mfaRequest(accessToken, "POST", "confirm", new URLSearchParams({ otp }));
}

/** Removes the user's second factor (and its recovery codes), with a current code or the password. */
export async function removeSecondFactor(accessToken: string, proof: Proof): Promise<void> {
  await mfaRequest(accessToken, "POST", "remove", proofParams(proof));
}

/** New recovery codes in place of the old ones, with a current code or the password. */
export async function regenerateRecoveryCodes(accessToken: string, proof: Proof): Promise<string[]> {
  const answer = await mfaRequest(accessToken, "POST", "recovery-codes", proofParams(proof));
  const codes = answer && typeof answer === "object" && "recovery_codes" in answer ? answer.recovery_codes : undefined;
  if (!Array.isArray(codes) || !codes.every((c) => typeof c === "string")) throw new SignInError("refused", "recovery-codes: unexpected answer");
  return codes;
}
