import { sessionLifetime } from "@/lib/oauth/model/session.ts";
import type { Client } from "@/lib/oauth/model/client.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import { startSession, type Device } from "@/lib/oauth/store/sessions.ts";
import { rememberAddress } from "@/lib/oauth/store/users.ts";
import { userTokens, type TokenResponse, type TokenUser } from "@/lib/oauth/tokens/response.ts";

const REMEMBER_AGAIN_MS = 86_400_000;

export interface CompletedSignIn {
  workspace: Workspace;
  client: Client;
  user: TokenUser;
  scope: readonly string[];
  /** RFC 8176: how the user authenticated, kept with the session for every later token. */
  amr: string[];
  /** The address group the user signed in from, and when they last did from there (ms), if ever. */
  address: string;
  knownSince: number | null;
  /** One instant for the whole answer: a fresh sign-in's auth_time is its tokens' iat. */
  now: number;
  /** The thumbprint of the request's DPoP key, if it proved one (RFC 9449 §5). */
  jkt?: string;
  /** The end user's address and browser, as a trusted client passed them (or the caller's own): kept with the session. */
  device: Device;
  /** The password hash a password grant checked: the session starts only while it is still the user's (startSession). */
  whilePassword?: string;
}

/**
 * A sign-in every factor of which has been passed: the address is remembered as the user's, the
 * session starts, and the tokens are issued (a refresh token when the client may refresh).
 */
export async function completeSignIn({
  workspace,
  client,
  user,
  scope,
  amr,
  address,
  knownSince,
  now,
  jkt,
  device,
  whilePassword,
}: CompletedSignIn): Promise<TokenResponse> {
  const { session, refreshToken } = await startSession(
    {
      workspaceId: workspace.id,
      clientId: client.id,
      userId: user.id,
      amr,
      authTime: Math.floor(now / 1000),
      ttl: sessionLifetime(client, workspace),
      // RFC 9449 §5: a public client's refresh tokens are bound to its DPoP key; a confidential
      // client's are not (it authenticates each refresh), though its access tokens are.
      dpopJkt: client.confidential ? null : (jkt ?? null),
      now,
      device,
      whilePassword,
    },
    client.grantTypes.has("refresh_token")
      ? { clientId: client.id, userId: user.id, scope, ttl: client.refreshTokenTtl ?? workspace.refreshTokenTtl }
      : undefined,
  );
  // After the session, which may be refused (the password changed meanwhile): only a sign-in makes
  // an address known. Written again only once a day: a success costs no extra write otherwise.
  if (knownSince === null || now - knownSince > REMEMBER_AGAIN_MS) await rememberAddress(user.id, address, new Date(now));
  return userTokens({ workspace, client, user, scope, session, refreshToken, jkt, now });
}
