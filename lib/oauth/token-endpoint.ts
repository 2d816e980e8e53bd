import { authenticateClient, endUserAgent, endUserIp, type Client } from "@/lib/oauth/client-auth.ts";
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from "@/lib/oauth/errors.ts";
import { clientCredentialsGrant } from "@/lib/oauth/grants/client-credentials.ts";
import { passwordGrant } from "@/lib/oauth/grants/password.ts";
import { refreshTokenGrant } from "@/lib/oauth/grants/refresh-token.ts";
import type { GrantHandler } from "@/lib/oauth/grants/types.ts";
import { readForm, type FormParams, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/http.ts";
import type { EndpointContext } from "@/lib/oauth/route.ts";

/** The grants this server implements, by `grant_type`. Discovery advertises exactly these. */
export const GRANTS: Readonly<Record<string, GrantHandler>> = {
  password: passwordGrant,
  refresh_token: refreshTokenGrant,
  client_credentials: clientCredentialsGrant,
};

/**
 * `POST /{tenant}/{workspace}/oauth2/token` (RFC 6749 §3.2). The checks run in this order, each
 * step throwing the OAuth error that ends the request; the grant then runs its own steps.
 */
export async function tokenEndpoint(request: OAuthRequest, { workspace, log, ip, audit }: EndpointContext): Promise<OAuthResponse> {
  audit.event = "token";
  const params = await readForm(request);
  audit.event = `token.${auditName(params.get("grant_type"))}`;
  const client = await authenticateClient(request, params, workspace, ip);
  audit.clientId = client.clientId;
  audit.ip = endUserIp(request, client, ip);
  audit.userAgent = endUserAgent(request, client);
  const grant = supportedGrant(params);
  assertClientMayUse(client, grant.type);
  return grant.handler({ request, params, client, workspace, log, ip: audit.ip, audit });
}

/** The grant type as an audit event name: ours, or `other` (never arbitrary input). */
function auditName(grantType: string | undefined): string {
  return grantType !== undefined && Object.hasOwn(GRANTS, grantType) ? grantType : "other";
}

export function supportedGrant(params: FormParams): { type: string; handler: GrantHandler } {
  const type = params.get("grant_type");
  if (type === undefined) throw new InvalidRequest("the grant_type parameter is required");
  const handler = Object.hasOwn(GRANTS, type) ? GRANTS[type] : undefined;
  if (!handler) throw new UnsupportedGrantType("this grant_type is not supported");
  return { type, handler };
}

export function assertClientMayUse(client: Client, grantType: string): void {
  if (!client.grantTypes.has(grantType)) {
    throw new UnauthorizedClient("this client is not allowed this grant_type", { detail: `${client.clientId} used ${grantType}` });
  }
}
