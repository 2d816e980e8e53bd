import { authenticateClient } from "@/lib/oauth/client-auth/authenticate.ts";
import { endUserAgent, endUserIp } from "@/lib/oauth/client-auth/end-user.ts";
import type { Client } from "@/lib/oauth/model/client.ts";
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from "@/lib/oauth/protocol/errors.ts";
import { grantOf } from "@/lib/oauth/grants/registry.ts";
import type { Grant } from "@/lib/oauth/grants/types.ts";
import { type FormParams, readForm } from "@/lib/oauth/protocol/form.ts";
import type { OAuthRequest, OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import { tokenRequestProof } from "@/lib/oauth/dpop/token-request.ts";

/**
 * `POST /{tenant}/{workspace}/oauth2/token` (RFC 6749 §3.2). The checks run in this order, each
 * step throwing the OAuth error that ends the request; the grant then runs its own steps.
 */
export async function tokenEndpoint(request: OAuthRequest, { workspace, log, ip, audit, urlFor }: EndpointContext): Promise<OAuthResponse> {
  audit.event = "token";
  const params = await readForm(request);
  audit.event = `token.${auditName(params.get("grant_type"))}`;
  const client = await authenticateClient(request, params, workspace, ip, { token: urlFor("token"), called: urlFor("token") });
  audit.clientId = client.clientId;
  // A public client proves nothing: its junk is junk (a password attempt is counted by the grant).
  audit.accountable = client.confidential;
  audit.ip = endUserIp(request, client, ip);
  audit.userAgent = endUserAgent(request, client);
  const grant = supportedGrant(params);
  assertClientMayUse(client, grant.type);
  const dpop = await tokenRequestProof(request, client, workspace, urlFor("token"));
  const response = await grant.handle({ request, params, client, workspace, log, ip: audit.ip, audit, dpop });
  if (dpop?.nextNonce !== undefined) response.headers["DPoP-Nonce"] = dpop.nextNonce;
  return response;
}

/** The grant type as an audit event name: ours, or `other` (never arbitrary input). */
function auditName(grantType: string | undefined): string {
  const grant = grantType === undefined ? undefined : grantOf(grantType);
  return grant ? (grant.auditName ?? grant.type) : "other";
}

export function supportedGrant(params: FormParams): Grant {
  const type = params.get("grant_type");
  if (type === undefined) throw new InvalidRequest("the grant_type parameter is required");
  const grant = grantOf(type);
  if (!grant) throw new UnsupportedGrantType("this grant_type is not supported");
  return grant;
}

export function assertClientMayUse(client: Client, grantType: string): void {
  if (!client.grantTypes.has(grantType)) {
    throw new UnauthorizedClient("this client is not allowed this grant_type", { detail: `${client.clientId} used ${grantType}` });
  }
}
