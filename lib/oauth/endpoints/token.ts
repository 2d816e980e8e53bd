import { authenticateClient } from "@/lib/oauth/client-auth/authenticate.ts";
import { endUserAgent, endUserIp } from "@/lib/oauth/client-auth/end-user.ts";
import type { Client } from "@/lib/oauth/model/client.ts";
import { InvalidGrant, InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from "@/lib/oauth/protocol/errors.ts";
import { grantOf } from "@/lib/oauth/grants/registry.ts";
import type { Grant, GrantRequest } from "@/lib/oauth/grants/types.ts";
import { type FormParams, readForm } from "@/lib/oauth/protocol/form.ts";
import type { OAuthRequest, OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import type { AuditDraft, EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import type { Logger } from "@/lib/platform/logger.ts";
import { requireDpopNonce, type DpopProof } from "@/lib/oauth/dpop/proof.ts";
import { tokenRequestProof } from "@/lib/oauth/dpop/token-request.ts";

/**
 * `POST /{tenant}/{workspace}/oauth2/token` (RFC 6749 §3.2). The checks run in this order, each
 * step throwing the OAuth error that ends the request; the grant then runs its own steps.
 */
export async function tokenEndpoint(request: OAuthRequest, context: EndpointContext): Promise<OAuthResponse> {
  const { workspace, ip, audit, urlFor } = context;
  audit.event = "token";
  const params = await readForm(request);
  audit.event = `token.${auditName(params.get("grant_type"))}`;
  // Before the client's authentication, which spends a client assertion (requireDpopNonce); with
  // nonces off (the default) not even a promise.
  if (workspace.dpopNonces) await requireDpopNonce(request, workspace);
  const client = await authenticateClient(request, params, workspace, ip);
  audit.clientId = client.clientId;
  // A public client proves nothing: its junk is junk (a password attempt is counted by the grant).
  audit.accountable = client.confidential;
  audit.ip = endUserIp(request, client, ip);
  audit.userAgent = endUserAgent(request, client);
  const grant = supportedGrant(params);
  assertClientMayUse(client, grant.type);
  const dpop = await tokenRequestProof(request, client, workspace, urlFor("token"));
  const response = await grant.handle(new GrantCall(request, params, client, workspace, audit.ip, audit, dpop, context));
  if (dpop?.nextNonce !== undefined) response.headers["DPoP-Nonce"] = dpop.nextNonce;
  return response;
}

/**
 * What the grant gets. A class whose logger is the endpoint's, read only when a grant logs: the
 * request's child logger is made at the first line logged, not at every grant (and not an object
 * literal with a getter, which kept what it held past V8's young-generation collections; see
 * `Context` in lib/oauth/pipeline/workspace-route.ts).
 */
class GrantCall implements GrantRequest {
  constructor(
    readonly request: OAuthRequest,
    readonly params: FormParams,
    readonly client: Client,
    readonly workspace: Workspace,
    readonly ip: string,
    readonly audit: AuditDraft,
    readonly dpop: DpopProof | undefined,
    private readonly context: EndpointContext,
  ) {}

  get log(): Logger {
    return this.context.log;
  }
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

/**
 * What the token endpoint answers when a grant failed because its user was deleted while it ran
 * (RouteOptions.userGone). It is reached only past the grant's proof (the password, a live
 * refresh token or mfa_token), so saying so tells the caller nothing it could not know.
 */
export const grantUserGone = (): InvalidGrant => new InvalidGrant("the user no longer exists", { detail: "user deleted meanwhile" });
