import { UnauthorizedClient } from "@/lib/oauth/protocol/errors.ts";
import { json, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { grantScope, parseScope, USER_SCOPES } from "@/lib/oauth/protocol/scopes.ts";
import type { TokenResponse } from "@/lib/oauth/tokens/response.ts";
import { clientTokenJti, mintAccessToken } from "@/lib/oauth/tokens/mint.ts";
import type { Grant, GrantRequest } from "@/lib/oauth/grants/types.ts";

/**
 * The client credentials grant (RFC 6749 §4.4): a confidential client's own access token, `sub`
 * being its client id; no ID token and no refresh token (§4.4.3). Asking for nothing gives the
 * client's default scopes, or else every non-user scope it is allowed.
 */
async function handle({ params, client, workspace, dpop }: GrantRequest): Promise<OAuthResponse> {
  if (!client.confidential) throw new UnauthorizedClient("a public client cannot use client_credentials");
  const allowed = new Set([...client.scopes].filter((s) => !USER_SCOPES.has(s)));
  const defaults = client.defaultScopes ?? [...allowed];
  const scope = grantScope(parseScope(params.get("scope")), { allowed, defaults });
  const access = await mintAccessToken({
    workspace,
    clientId: client.clientId,
    audiences: client.audiences,
    subject: client.clientId,
    scope,
    ttl: client.accessTokenTtl ?? workspace.accessTokenTtl,
    jkt: dpop?.jkt,
    jti: clientTokenJti(client.id),
  });
  const body: TokenResponse = {
    access_token: access.token,
    token_type: dpop ? "DPoP" : "bearer",
    expires_in: access.claims.exp - access.claims.iat,
    scope: scope.join(" "),
  };
  return json(body);
}

/** `grant_type=client_credentials` */
export const clientCredentialsGrant: Grant = { type: "client_credentials", parameters: ["scope"], handle };
