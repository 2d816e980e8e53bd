import type { Client } from "@/lib/oauth/model/client.ts";
import type { Session } from "@/lib/oauth/model/session.ts";
import type { IssuedRefreshToken } from "@/lib/oauth/store/refresh-tokens.ts";
import { mintAccessToken, mintIdToken } from "@/lib/oauth/tokens/mint.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** RFC 6749 §5.1 (with OIDC Core §3.1.3.3's `id_token`). */
export interface TokenResponse {
  access_token: string;
  /** RFC 9449 §5: `DPoP` for a token bound to a DPoP key. */
  token_type: "bearer" | "DPoP";
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

export interface TokenUser {
  id: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
}

export interface UserTokenRequest {
  workspace: Workspace;
  client: Client;
  user: TokenUser;
  scope: readonly string[];
  /** The sign-in: `sid`, `amr` and `auth_time` of every token, kept across refreshes; no token outlives it. */
  session: Pick<Session, "id" | "amr" | "authTime" | "expiresAt">;
  /** Returned as `refresh_token`; its expiry goes into the ID token. */
  refreshToken?: IssuedRefreshToken;
  /** The thumbprint of the DPoP key the access token is bound to (RFC 9449 §5), if the request proved one. */
  jkt?: string;
  now?: number;
}

/** The access token, the ID token when `openid` was granted, and the refresh token if any. */
export async function userTokens(req: UserTokenRequest): Promise<TokenResponse> {
  const { workspace, client, session } = req;
  const nowMs = req.now ?? Date.now();
  // Seconds left before the session's absolute end: no token is valid past it.
  const left = Math.max(1, Math.floor((session.expiresAt.getTime() - nowMs) / 1000));
  const access = await mintAccessToken({
    workspace,
    clientId: client.clientId,
    audiences: client.audiences,
    subject: req.user.id,
    scope: req.scope,
    ttl: Math.min(client.accessTokenTtl ?? workspace.accessTokenTtl, left),
    user: { amr: session.amr, sid: session.id },
    jkt: req.jkt,
    now: nowMs,
  });
  const response: TokenResponse = {
    access_token: access.token,
    token_type: req.jkt === undefined ? "bearer" : "DPoP",
    expires_in: access.claims.exp - access.claims.iat,
    scope: req.scope.join(" "),
  };
  if (req.scope.includes("openid")) {
    const id = await mintIdToken({
      workspace,
      clientId: client.clientId,
      alg: client.idTokenSignedResponseAlg,
      user: req.user,
      scope: req.scope,
      accessToken: access.token,
      authTime: session.authTime,
      amr: session.amr,
      sid: session.id,
      ttl: Math.min(client.idTokenTtl ?? workspace.idTokenTtl, left),
      extra: req.refreshToken ? { refresh_token_expires_at: Math.floor(req.refreshToken.expiresAt.getTime() / 1000) } : undefined,
      now: nowMs,
    });
    response.id_token = id.token;
  }
  if (req.refreshToken) response.refresh_token = req.refreshToken.token;
  return response;
}
