import { checkAccessToken, CLOCK_SKEW_SECONDS } from "@/lib/oauth/tokens/verify.ts";
import { denyAccessToken } from "@/lib/oauth/store/denylist.ts";
import { authenticateClient } from "@/lib/oauth/client-auth/authenticate.ts";
import type { Client } from "@/lib/oauth/model/client.ts";
import { InvalidRequest, UnauthorizedClient } from "@/lib/oauth/protocol/errors.ts";
import { NO_STORE, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { readForm } from "@/lib/oauth/protocol/form.ts";
import { findRefreshToken } from "@/lib/oauth/store/refresh-tokens.ts";
import { endSession } from "@/lib/oauth/store/sessions.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** Longer tokens are none of ours: they are answered like any unknown token. */
export const MAX_TOKEN_LENGTH = 8192;

type Outcome = "revoked" | "unknown";
type Revoker = (token: string, client: Client, workspace: Workspace) => Promise<Outcome>;

const notYours = () => new UnauthorizedClient("the token was not issued to this client");

/**
 * A refresh token ends its session (RFC 7009 §2.1): its whole family, every token descended from
 * the same sign-in, and every access token carrying that `sid`.
 */
const revokeRefreshToken: Revoker = async (token, client, workspace) => {
  const stored = await findRefreshToken(token);
  if (!stored || stored.client.workspaceId !== workspace.id) return "unknown";
  if (stored.clientId !== client.id) throw notYours();
  await endSession(stored.familyId);
  return "revoked";
};

/** An access token goes on the denylist until it expires. */
const revokeAccessToken: Revoker = async (token, client, workspace) => {
  const check = await checkAccessToken(token, workspace);
  if (!check.valid) return "unknown";
  if (check.claims.client_id !== client.clientId) throw notYours();
  await denyAccessToken(check.claims.jti, new Date((check.claims.exp + CLOCK_SKEW_SECONDS) * 1000));
  return "revoked";
};

/**
 * `POST /oauth2/revoke` (RFC 7009). Clients authenticate as at the token endpoint (a public one
 * names itself with `client_id`). Unknown, expired and already revoked tokens are answered 200
 * (§2.2); a token of another client is not revoked and the client is told (§2.1).
 * `token_type_hint` only decides which kind is looked up first.
 */
export async function revocationEndpoint(request: OAuthRequest, context: EndpointContext): Promise<OAuthResponse> {
  // Not `log`: the request's child logger is made only if a token is revoked.
  const { workspace, ip, audit } = context;
  audit.event = "token.revoke";
  const params = await readForm(request);
  const client = await authenticateClient(request, params, workspace, ip);
  audit.clientId = client.clientId;
  // A public client proves nothing: its junk is junk (a password attempt is counted by the grant).
  audit.accountable = client.confidential;
  const token = params.get("token");
  if (token === undefined) throw new InvalidRequest("the token parameter is required");
  if (token.length <= MAX_TOKEN_LENGTH) {
    const order = params.get("token_type_hint") === "access_token" ? [revokeAccessToken, revokeRefreshToken] : [revokeRefreshToken, revokeAccessToken];
    for (const revoke of order) {
      if ((await revoke(token, client, workspace)) === "revoked") {
        context.log.info(
          { event: "token.revoked", client: client.clientId, kind: revoke === revokeAccessToken ? "access_token" : "refresh_token" },
          "token revoked",
        );
        break;
      }
    }
  }
  return { status: 200, headers: { ...NO_STORE }, body: null };
}
