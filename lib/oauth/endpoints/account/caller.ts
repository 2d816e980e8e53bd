import { assertOriginAllowed } from "@/lib/oauth/protocol/cors.ts";
import { InsufficientScope, InvalidToken } from "@/lib/oauth/protocol/errors.ts";
import { bearerRequired, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { findClient } from "@/lib/oauth/store/clients.ts";
import { checkAccessToken } from "@/lib/oauth/tokens/verify.ts";
import { MAX_TOKEN_LENGTH } from "@/lib/oauth/endpoints/revocation.ts";
import type { Endpoint, EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import type { TokenHolder } from "@/lib/oauth/store/sessions.ts";
import type { AccessTokenClaims } from "@/lib/oauth/tokens/mint.ts";

/** The scope an access token needs at every endpoint of the account API. */
export const ACCOUNT_SCOPE = "account";

/** Who calls the account API: a signed-in user, through an access token of one of their sessions. */
export interface AccountCaller {
  user: TokenHolder;
  claims: AccessTokenClaims;
  /** The session (`sid`) of the token used: "this device". */
  sessionId: string;
}

export type AccountEndpoint = (request: OAuthRequest, context: EndpointContext, caller: AccountCaller) => Promise<OAuthResponse>;

const AUTHORIZATION = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The caller of an account endpoint from its access token (RFC 6750 §2.1, the Authorization
 * header only), or null when it sent none: a live token we signed for this workspace, of an enabled
 * user's sign-in (it carries `sid`), from an origin its client allows, with the `account` scope.
 */
async function accountCaller(request: OAuthRequest, { workspace, audit }: EndpointContext): Promise<AccountCaller | null> {
  const realm = workspace.issuer;
  const header = request.headers.get("authorization");
  if (header === null) return null;
  const token = AUTHORIZATION.exec(header)?.[1];
  if (!token) throw new InvalidToken(realm, "the Authorization header is not a bearer token");
  const check = token.length <= MAX_TOKEN_LENGTH ? await checkAccessToken(token, workspace) : { valid: false as const, reason: "too long" };
  // A token we signed, refused for its session or client, is an ordinary end, not junk.
  if (check.claims) Object.assign(audit, { clientId: check.claims.client_id, accountable: true });
  if (!check.valid) throw new InvalidToken(realm, "the access token is invalid", check.reason);
  const { claims, user } = check;
  if (!user || user.disabled || claims.sid === undefined) throw new InvalidToken(realm, "the access token is invalid", "not a signed-in user's token");
  Object.assign(audit, { userId: user.id, username: user.username });
  const client = await findClient(workspace.id, claims.client_id);
  assertOriginAllowed(request, client?.allowedOrigins ?? []);
  if (!claims.scope.split(" ").includes(ACCOUNT_SCOPE)) throw new InsufficientScope(realm, ACCOUNT_SCOPE);
  return { user, claims, sessionId: claims.sid };
}

/**
 * An endpoint of the account API: `handle` runs for an authenticated caller; a request without a
 * token gets RFC 6750 §3.1's bare challenge (401), a bad token `invalid_token` (401), a token
 * without the `account` scope `insufficient_scope` (403). `event` names its audit events.
 */
export function accountEndpoint(handle: AccountEndpoint, event?: string): Endpoint {
  return async (request, context) => {
    if (event) context.audit.event = event;
    const caller = await accountCaller(request, context);
    if (!caller) return bearerRequired(context.workspace.issuer);
    return handle(request, context, caller);
  };
}
