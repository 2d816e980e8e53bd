import { assertOriginAllowed } from "@/lib/oauth/protocol/cors.ts";
import { InsufficientScope, InvalidRequest, InvalidToken } from "@/lib/oauth/protocol/errors.ts";
import { readForm } from "@/lib/oauth/protocol/form.ts";
import { bearerRequired, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { findClient } from "@/lib/oauth/store/clients.ts";
import { checkAccessToken } from "@/lib/oauth/tokens/verify.ts";
import { MAX_TOKEN_LENGTH } from "@/lib/oauth/endpoints/revocation.ts";
import type { AuditDraft } from "@/lib/oauth/endpoints/context.ts";
import type { StoredClient } from "@/lib/oauth/model/client.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import type { TokenHolder } from "@/lib/oauth/store/sessions.ts";
import type { AccessTokenClaims } from "@/lib/oauth/tokens/mint.ts";

/** What a resource endpoint of ours learns of a caller from its access token. */
export interface AccessTokenCaller {
  token: string;
  claims: AccessTokenClaims;
  /** The token's user: a resource endpoint of ours serves users, never a client's own token. */
  user: TokenHolder;
  client: StoredClient;
}

export interface AccessTokenCallerOptions {
  /** A scope the token must carry, else `insufficient_scope` (403). */
  scope?: string;
  /** Whether the token must belong to a sign-in (carry `sid`), not only name a user. */
  session?: boolean;
  /** Whether a POST may send the token as the `access_token` form parameter (RFC 6750 §2.2). */
  formBody?: boolean;
}

const AUTHORIZATION = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The access token a request presents (RFC 6750 §2): the Authorization header, or where allowed
 * the `access_token` form parameter of a POST (§2.2); never both. Not the query string: RFC 6750
 * §2.3 and RFC 9700 advise against it, as URLs end up in logs. Undefined when it sent none.
 */
export async function presentedToken(request: OAuthRequest, realm: string, options: { formBody?: boolean } = {}): Promise<string | undefined> {
  const header = request.headers.get("authorization");
  const isForm =
    options.formBody === true &&
    request.method === "POST" &&
    (request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded");
  const fromBody = isForm ? (await readForm(request)).get("access_token") : undefined;
  if (header !== null && fromBody !== undefined) throw new InvalidRequest("send the access token once, in the header or the body");
  if (header === null) return fromBody;
  const token = AUTHORIZATION.exec(header)?.[1];
  if (!token) throw new InvalidToken(realm, "the Authorization header is not a bearer token");
  return token;
}

/**
 * The caller of a resource endpoint of ours, from an access token it presented (`presentedToken`):
 * a token we signed for this workspace and that is still live (`checkAccessToken`), sent from an
 * origin its client allows, carrying `options.scope` (else `insufficient_scope`, 403), of an
 * enabled user. A bad one is `invalid_token` (401); the audit trail learns the client and user as
 * soon as they are known.
 */
export async function authenticateAccessToken(
  request: OAuthRequest,
  token: string,
  workspace: Workspace,
  audit: AuditDraft,
  options: AccessTokenCallerOptions = {},
): Promise<AccessTokenCaller> {
  const realm = workspace.issuer;
  const check = token.length <= MAX_TOKEN_LENGTH ? await checkAccessToken(token, workspace) : { valid: false as const, reason: "too long" };
  // A token we signed, refused for its session or client, is an ordinary end, not junk.
  if (check.claims) Object.assign(audit, { clientId: check.claims.client_id, accountable: true });
  if (!check.valid) throw new InvalidToken(realm, "the access token is invalid", check.reason);
  const { claims, user } = check;
  const client = await findClient(workspace.id, claims.client_id);
  if (!client) throw new InvalidToken(realm, "the access token is invalid", "client gone");
  assertOriginAllowed(request, client.allowedOrigins);
  if (options.scope !== undefined && !claims.scope.split(" ").includes(options.scope)) throw new InsufficientScope(realm, options.scope);
  if (!user || user.disabled) throw new InvalidToken(realm, "the access token is invalid", "not a user's token, or the user is gone or disabled");
  if (options.session === true && claims.sid === undefined) throw new InvalidToken(realm, "the access token is invalid", "not a signed-in user's token");
  Object.assign(audit, { userId: user.id, username: user.username });
  return { token, claims, user, client };
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

/** RFC 6750 §3.1: the answer to a request that presented no token at all (a bare challenge). */
export function accessTokenRequired(workspace: Workspace): OAuthResponse {
  return bearerRequired(workspace.issuer);
}
