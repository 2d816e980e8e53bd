import { userClaims } from "@/lib/oauth/tokens/claims.ts";
import { json, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { accessTokenCaller, accessTokenRequired } from "@/lib/oauth/endpoints/access-token-caller.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";

/**
 * `GET` and `POST /userinfo` (OIDC Core §5.3): the claims of the token's user, by granted scope:
 * `sub` always, `name` with profile, `email` and `email_verified` with email. A POST may send the
 * token as the `access_token` form parameter (RFC 6750 §2.2).
 */
export async function userinfoEndpoint(request: OAuthRequest, { workspace, audit }: EndpointContext): Promise<OAuthResponse> {
  const caller = await accessTokenCaller(request, workspace, audit, { scope: "openid", formBody: true });
  if (caller === null) return accessTokenRequired(workspace);
  return json({ sub: caller.user.id, ...userClaims(caller.user, caller.claims.scope.split(" ")) });
}
