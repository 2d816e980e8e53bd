import { checkAccessToken } from "@/lib/oauth/tokens/verify.ts";
import { authenticateClient } from "@/lib/oauth/client-auth/authenticate.ts";
import { InvalidClient, InvalidRequest, UnauthorizedClient } from "@/lib/oauth/protocol/errors.ts";
import { json, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { readForm } from "@/lib/oauth/protocol/form.ts";
import { findRefreshToken, isUsable } from "@/lib/oauth/store/refresh-tokens.ts";
import { MAX_TOKEN_LENGTH } from "@/lib/oauth/endpoints/revocation.ts";
import { isLive } from "@/lib/oauth/model/session.ts";
import { findClient } from "@/lib/oauth/store/clients.ts";
import { splitList } from "@/lib/oauth/model/lists.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** The scope a client needs to call introspection (the name Cloudentity uses). */
export const INTROSPECTION_SCOPE = "introspect_tokens";

type Introspection = { active: true } & Record<string, unknown>;
type Introspector = (token: string, workspace: Workspace) => Promise<Introspection | null>;

const introspectAccessToken: Introspector = async (token, workspace) => {
  const check = await checkAccessToken(token, workspace);
  if (!check.valid) return null;
  const c = check.claims;
  let username: string | undefined;
  if (c.idp !== undefined) {
    // A user's token is only as active as its user.
    const user = check.user;
    if (!user || user.disabled) return null;
    username = user.username;
  }
  return {
    active: true,
    scope: c.scope,
    client_id: c.client_id,
    username,
    // RFC 9449 §6.2: a DPoP-bound token says so, and names its key.
    token_type: c.cnf === undefined ? "bearer" : "DPoP",
    exp: c.exp,
    iat: c.iat,
    nbf: c.nbf,
    sub: c.sub,
    aud: c.aud,
    iss: c.iss,
    jti: c.jti,
    cnf: c.cnf,
  };
};

const introspectRefreshToken: Introspector = async (token, workspace) => {
  const stored = await findRefreshToken(token);
  if (!stored || stored.client.workspaceId !== workspace.id || !isUsable(stored) || stored.user.disabled || stored.client.disabled) return null;
  if (!isLive(stored.session)) return null;
  // What its refresh would carry (grants/refresh-token.ts): not a scope its client has lost since.
  const owner = await findClient(workspace.id, stored.client.clientId);
  if (!owner || owner.disabled) return null;
  const scope = splitList(stored.scope).filter((s) => owner.scopes.has(s));
  return {
    active: true,
    scope: scope.length > 0 ? scope.join(" ") : undefined,
    client_id: stored.client.clientId,
    username: stored.user.username,
    token_type: "refresh_token",
    exp: Math.floor(stored.expiresAt.getTime() / 1000),
    iat: Math.floor(stored.createdAt.getTime() / 1000),
    sub: stored.userId,
    aud: stored.client.clientId,
    iss: workspace.issuer,
  };
};

/**
 * `POST /oauth2/introspect` (RFC 7662). Only a confidential client allowed `introspect_tokens`
 * may ask. Anything not active, for whatever reason, is exactly `{"active": false}` (§2.2).
 */
export async function introspectionEndpoint(request: OAuthRequest, { workspace, ip, audit }: EndpointContext): Promise<OAuthResponse> {
  const params = await readForm(request);
  const client = await authenticateClient(request, params, workspace, ip);
  audit.clientId = client.clientId;
  // A public client proves nothing: its junk is junk (a password attempt is counted by the grant).
  audit.accountable = client.confidential;
  if (!client.confidential) throw new InvalidClient("client authentication is required", { detail: "public client at introspection" });
  if (!client.scopes.has(INTROSPECTION_SCOPE)) {
    throw new UnauthorizedClient(`this client may not introspect tokens (it needs the ${INTROSPECTION_SCOPE} scope)`, { status: 403 });
  }
  const token = params.get("token");
  if (token === undefined) throw new InvalidRequest("the token parameter is required");
  if (token.length > MAX_TOKEN_LENGTH) return json({ active: false });
  const order =
    params.get("token_type_hint") === "refresh_token" ? [introspectRefreshToken, introspectAccessToken] : [introspectAccessToken, introspectRefreshToken];
  for (const introspect of order) {
    const result = await introspect(token, workspace);
    if (result) return json(result);
  }
  return json({ active: false });
}
