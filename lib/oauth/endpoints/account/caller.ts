import { accessTokenCaller, accessTokenRequired, withDpopNonce } from "@/lib/oauth/endpoints/access-token-caller.ts";
import type { OAuthRequest, OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
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

/**
 * An endpoint of the account API. `handle` runs for a caller whose access token (the resource
 * endpoints' one check, access-token-caller.ts) is live, belongs to an enabled user's sign-in (it
 * carries `sid`) and has the `account` scope. A request without a token gets RFC 6750 §3.1's bare
 * challenge (401), a bad token `invalid_token` (401), one without the scope `insufficient_scope`
 * (403). `event` names the audit events of authenticated calls.
 */
export function accountEndpoint(handle: AccountEndpoint, event?: string): Endpoint {
  return async (request, context) => {
    const caller = await accessTokenCaller(request, context.workspace, context.audit, { scope: ACCOUNT_SCOPE, session: true });
    if (!caller) return accessTokenRequired(context.workspace);
    // Named once the caller is known: what the user did (or failed to), not every anonymous knock,
    // whose bare 401 challenge is an answer, not a thrown failure, and would be recorded as a success.
    if (event) context.audit.event = event;
    const { user, claims } = caller;
    // `session: true` made sure of it.
    if (claims.sid === undefined) throw new TypeError("a session's token without sid");
    return withDpopNonce(await handle(request, context, { user, claims, sessionId: claims.sid }), caller);
  };
}
