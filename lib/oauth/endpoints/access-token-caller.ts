import { assertOriginAllowed } from "@/lib/oauth/protocol/cors.ts";
import {
  bearerChallenge,
  challenge,
  dpopChallenge,
  InsufficientScope,
  InvalidDpopProof,
  InvalidRequest,
  InvalidToken,
  type TokenScheme,
} from "@/lib/oauth/protocol/errors.ts";
import { readForm } from "@/lib/oauth/protocol/form.ts";
import { NO_STORE, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { verifyDpopProof, type DpopProof } from "@/lib/oauth/dpop/proof.ts";
import { findClient } from "@/lib/oauth/store/clients.ts";
import { checkAccessToken } from "@/lib/oauth/tokens/verify.ts";
import { MAX_TOKEN_LENGTH } from "@/lib/oauth/endpoints/revocation.ts";
import type { AuditDraft } from "@/lib/oauth/endpoints/context.ts";
import type { StoredClient } from "@/lib/oauth/model/client.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import type { TokenHolder } from "@/lib/oauth/store/sessions.ts";
import type { AccessTokenClaims } from "@/lib/oauth/tokens/mint.ts";
import { percentDecoded } from "@/lib/platform/percent-decoding.ts";

/** What a resource endpoint of ours learns of a caller from its access token. */
export interface AccessTokenCaller {
  token: string;
  claims: AccessTokenClaims;
  /** The token's user: a resource endpoint of ours serves users, never a client's own token. */
  user: TokenHolder;
  client: StoredClient;
  /** The verified proof of a DPoP-bound token (RFC 9449 §7.1); its `nextNonce` goes in `DPoP-Nonce`. */
  dpop?: DpopProof;
}

/**
 * RFC 9449 §8.2, §9: a resource endpoint's answer to a DPoP-bound token whose proof carried the
 * previous nonce names the current one, so that the client's next proof is not refused.
 */
export function withDpopNonce(response: OAuthResponse, caller: { dpop?: DpopProof } | null): OAuthResponse {
  const nonce = caller?.dpop?.nextNonce;
  if (nonce !== undefined) response.headers["DPoP-Nonce"] = nonce;
  return response;
}

export interface AccessTokenCallerOptions {
  /** A scope the token must carry, else `insufficient_scope` (403). */
  scope?: string;
  /** Whether the token must belong to a sign-in (carry `sid`), not only name a user. */
  session?: boolean;
  /** Whether a POST may send the token as the `access_token` form parameter (RFC 6750 §2.2). */
  formBody?: boolean;
}

const AUTHORIZATION = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** What a request whose access token's user was deleted while it ran is answered (RouteOptions.userGone). */
export function accessTokenUserGone(request: OAuthRequest, workspace: Workspace): InvalidToken {
  return new InvalidToken(workspace.issuer, "the access token is invalid", "user deleted meanwhile", authorizationScheme(request));
}

/** The scheme of the request's Authorization header: `DPoP` (RFC 9449 §7.1), else `Bearer`. */
export function authorizationScheme(request: OAuthRequest): TokenScheme {
  return /^DPoP /i.test(request.headers.get("authorization") ?? "") ? "DPoP" : "Bearer";
}

/**
 * The public URL of the resource a request is for (a DPoP proof's `htu`): the issuer, as the
 * server publishes it whatever proxies stand in front, and the path under it.
 */
function resourceUrl(request: OAuthRequest, workspace: Workspace): string {
  const path = new URL(request.url, "http://localhost").pathname;
  // The tenant and workspace segments as the router decoded them (`/d%65mo/…` is `/demo/…`); the
  // rest as sent, which the comparison with the proof's `htu` normalises (comparableUrl).
  const [, tenant, slug, ...rest] = path.split("/");
  if (tenant === undefined || slug === undefined || rest.length === 0) return "";
  return percentDecoded(tenant) === workspace.tenant && percentDecoded(slug) === workspace.slug ? `${workspace.issuer}/${rest.join("/")}` : "";
}

/**
 * The access token a request presents (RFC 6750 §2): the Authorization header (scheme `Bearer`,
 * or `DPoP` for a DPoP-bound token, RFC 9449 §7.1), or where allowed
 * the `access_token` form parameter of a POST (§2.2); never both. Not the query string: RFC 6750
 * §2.3 and RFC 9700 advise against it, as URLs end up in logs. Undefined when it sent none.
 */
export async function presentedToken(request: OAuthRequest, realm: string, options: { formBody?: boolean } = {}): Promise<string | undefined> {
  const header = request.headers.get("authorization");
  const isForm =
    options.formBody === true &&
    request.method === "POST" &&
    (request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded");
  const fromBody = isForm ? (await readForm(request).catch((err: unknown) => Promise.reject(challenged(err, request, realm)))).get("access_token") : undefined;
  if (header !== null && fromBody !== undefined) throw challenged(new InvalidRequest("send the access token once, in the header or the body"), request, realm);
  if (header === null) return fromBody;
  const token = AUTHORIZATION.exec(header)?.[2];
  if (!token) throw new InvalidToken(realm, "the Authorization header is not a bearer or DPoP token", undefined, authorizationScheme(request));
  return token;
}

/**
 * RFC 6750 §3: a resource request refused as malformed (`invalid_request`, 400; 413 for a body
 * over the limit) names its error in a challenge as well, in the scheme the client used.
 */
function challenged(err: unknown, request: OAuthRequest, realm: string): unknown {
  if (err instanceof InvalidRequest)
    Object.assign(err.headers, challenge(authorizationScheme(request), realm, { error: "invalid_request", error_description: err.description }));
  return err;
}

/**
 * The caller of a resource endpoint of ours, from an access token it presented (`presentedToken`):
 * a token we signed for this workspace and that is still live (`checkAccessToken`), sent from an
 * origin its client allows, carrying `options.scope` (else `insufficient_scope`, 403), of an
 * enabled user. A bad one is `invalid_token` (401); the audit trail learns the client and user as
 * soon as they are known. A DPoP-bound token (`cnf.jkt`) must come with the DPoP scheme and a proof
 * by its key for this request and token (`ath`); an unbound one with the Bearer scheme (RFC 9449
 * §7.1, §7.2). Failures challenge in the scheme used, or the one the token needs.
 */
export async function authenticateAccessToken(
  request: OAuthRequest,
  token: string,
  workspace: Workspace,
  audit: AuditDraft,
  options: AccessTokenCallerOptions = {},
): Promise<AccessTokenCaller> {
  const realm = workspace.issuer;
  const scheme = authorizationScheme(request);
  const check = token.length <= MAX_TOKEN_LENGTH ? await checkAccessToken(token, workspace) : { valid: false as const, reason: "too long" };
  // A token we signed, refused for its session or client, is an ordinary end, not junk.
  if (check.claims) Object.assign(audit, { clientId: check.claims.client_id, accountable: true });
  if (!check.valid) throw new InvalidToken(realm, "the access token is invalid", check.reason, scheme);
  const { claims, user } = check;
  const dpop = await checkTokenBinding(request, token, claims.cnf?.jkt, workspace, scheme);
  const client = await findClient(workspace.id, claims.client_id);
  if (!client) throw new InvalidToken(realm, "the access token is invalid", "client gone", scheme);
  assertOriginAllowed(request, client.allowedOrigins);
  if (options.scope !== undefined && !claims.scope.split(" ").includes(options.scope)) throw new InsufficientScope(realm, options.scope, scheme);
  if (!user || user.disabled) throw new InvalidToken(realm, "the access token is invalid", "not a user's token, or the user is gone or disabled", scheme);
  if (options.session === true && claims.sid === undefined)
    throw new InvalidToken(realm, "the access token is invalid", "not a signed-in user's token", scheme);
  Object.assign(audit, { userId: user.id, username: user.username });
  return { token, claims, user, client, ...(dpop === undefined ? {} : { dpop }) };
}

/**
 * RFC 9449 §7.1, §7.2: a token's binding (`jkt`, the thumbprint of the key it is bound to, or
 * undefined) and the request's scheme and proof agree, or `invalid_token` / `invalid_dpop_proof`.
 * Any endpoint that takes one of our tokens as a credential checks it so: the resource endpoints
 * here and registration with an access token, the /mfa endpoints with an `mfa_token` too (`noun`
 * names the token in the messages).
 */
export async function checkTokenBinding(
  request: OAuthRequest,
  token: string,
  jkt: string | undefined,
  workspace: Workspace,
  scheme: TokenScheme,
  noun = "access token",
): Promise<DpopProof | undefined> {
  const realm = workspace.issuer;
  if (scheme === "Bearer") {
    // A bound token used as a bearer one is exactly what binding is there to stop (§7.2).
    if (jkt !== undefined)
      throw new InvalidToken(realm, `the ${noun} is DPoP-bound: send it with the DPoP scheme and a proof`, "bound token as Bearer", "DPoP");
    return undefined;
  }
  if (jkt === undefined) throw new InvalidToken(realm, `the ${noun} is not DPoP-bound: send it with the Bearer scheme`, "unbound token as DPoP", "DPoP");
  const proof = await verifyDpopProof(request, { workspace, url: resourceUrl(request, workspace), accessToken: token, realm });
  if (proof === undefined) throw new InvalidDpopProof(`a DPoP proof is required with a DPoP-bound ${noun}`, undefined, realm);
  if (proof.jkt !== jkt) throw new InvalidToken(realm, `the DPoP proof is not by the key the ${noun} is bound to`, "jkt mismatch", "DPoP");
  return proof;
}

/**
 * The caller of a resource endpoint of ours (`authenticateAccessToken` on `presentedToken`), or
 * null when the request presented no token: answer it with `accessTokenRequired`.
 */
export async function accessTokenCaller(
  request: OAuthRequest,
  workspace: Workspace,
  audit: AuditDraft,
  options: AccessTokenCallerOptions = {},
): Promise<AccessTokenCaller | null> {
  const token = await presentedToken(request, workspace.issuer, options);
  return token === undefined ? null : authenticateAccessToken(request, token, workspace, audit, options);
}

/**
 * RFC 6750 §3.1 and RFC 9449 §7.1: the answer to a request that presented no token at all, a
 * bare challenge in each scheme we take (the DPoP one naming the proof algorithms).
 */
export function accessTokenRequired(workspace: Workspace): OAuthResponse {
  const bearer = bearerChallenge(workspace.issuer, {})["WWW-Authenticate"];
  const dpop = dpopChallenge(workspace.issuer, {})["WWW-Authenticate"];
  return { status: 401, headers: { "WWW-Authenticate": `${bearer}, ${dpop}`, ...NO_STORE }, body: null };
}
