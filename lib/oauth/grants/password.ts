import { db } from "@/lib/db.ts";
import { beginAttempt } from "@/lib/oauth/brute-force.ts";
import { dummyPasswordHash, passwordVerifier } from "@/lib/passwords.ts";
import { InvalidGrant, InvalidRequest } from "@/lib/oauth/errors.ts";
import { json, type FormParams } from "@/lib/oauth/http.ts";
import { storeRefreshToken } from "@/lib/oauth/refresh-tokens.ts";
import { grantScope, parseScope, scopePolicy } from "@/lib/oauth/scopes.ts";
import { userTokens } from "@/lib/oauth/token-response.ts";
import type { Workspace } from "@/lib/oauth/workspace.ts";
import type { GrantRequest } from "@/lib/oauth/grants/types.ts";

export const MAX_USERNAME_LENGTH = 255;
export const MAX_PASSWORD_LENGTH = 1024;

/** Wrong password, unknown user and disabled user all get exactly this (no user enumeration). */
const BAD_CREDENTIALS = "invalid username or password";

/**
 * The Resource Owner Password Credentials grant (RFC 6749 §4.3), after the token endpoint has
 * authenticated the client and checked it may use this grant. The steps, in order: input, scope,
 * the brute-force defence, the credentials, the user's state.
 */
export async function passwordGrant({ params, client, workspace, log, ip, audit }: GrantRequest): Promise<Response> {
  const { username, password } = requireCredentials(params);
  audit.username = username;
  const scope = grantScope(parseScope(params.get("scope")), scopePolicy(client, workspace));
  const attempt = await beginAttempt({ workspaceId: workspace.id, username, ip });
  const user = await verifyCredentials(workspace, username, password);
  audit.userId = user.id;
  if (user.disabled) throw new InvalidGrant(BAD_CREDENTIALS, { detail: "user disabled" });
  await attempt.succeeded();
  const authTime = Math.floor(Date.now() / 1000);
  const refreshToken = client.grantTypes.has("refresh_token")
    ? await storeRefreshToken({ clientId: client.id, userId: user.id, scope, authTime, ttl: client.refreshTokenTtl ?? workspace.refreshTokenTtl })
    : undefined;
  log.info({ event: "token.issued", grant: "password", client: client.clientId, user: user.id }, "password grant succeeded");
  return json(await userTokens({ workspace, client, user, scope, authTime, amr: ["pwd"], refreshToken }));
}

/** §4.3.2: `username` and `password` are required; long inputs are refused before any hashing. */
export function requireCredentials(params: FormParams): { username: string; password: string } {
  const username = params.get("username");
  const password = params.get("password");
  if (username === undefined) throw new InvalidRequest("the username parameter is required");
  if (password === undefined) throw new InvalidRequest("the password parameter is required");
  if (username.length > MAX_USERNAME_LENGTH) throw new InvalidRequest(`username is longer than ${MAX_USERNAME_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) throw new InvalidRequest(`password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  return { username, password };
}

/**
 * Exactly one argon2id verification whether or not the user exists: an unknown username is
 * checked against a dummy hash with the same parameters, so timing does not reveal it.
 */
export async function verifyCredentials(workspace: Workspace, username: string, password: string) {
  const user = await db().user.findUnique({ where: { workspaceId_username: { workspaceId: workspace.id, username } } });
  const valid = await passwordVerifier.verify(user?.passwordHash ?? (await dummyPasswordHash()), password);
  if (!user) throw new InvalidGrant(BAD_CREDENTIALS, { detail: "unknown user" });
  if (!valid) throw new InvalidGrant(BAD_CREDENTIALS, { detail: "wrong password" });
  return user;
}
