import { userClaims } from "@/lib/oauth/tokens/claims.ts";
import { checkAccessToken } from "@/lib/oauth/tokens/verify.ts";
import { findClient } from "@/lib/oauth/store/clients.ts";
import { assertOriginAllowed } from "@/lib/oauth/protocol/cors.ts";
import { InsufficientScope, InvalidRequest, InvalidToken } from "@/lib/oauth/protocol/errors.ts";
import { bearerRequired, json, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { readForm } from "@/lib/oauth/protocol/form.ts";
import { MAX_TOKEN_LENGTH } from "@/lib/oauth/endpoints/revocation.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";

/**
 * The bearer token of a request (RFC 6750 §2): the Authorization header, or for POST the
 * `access_token` form parameter (§2.2); never both. Not the query string: RFC 6750 §2.3 and
 * RFC 9700 advise against it, as URLs end up in logs.
 */
async function bearerToken(request: OAuthRequest, realm: string): Promise<string | undefined> {
  const header = request.headers.get("authorization");
  const isForm = request.method === "POST" && (request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded");
  const fromBody = isForm ? (await readForm(request)).get("access_token") : undefined;
  if (header !== null && fromBody !== undefined) throw new InvalidRequest("send the access token once, in the header or the body");
  if (header === null) return fromBody;
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (!match?.[1]) throw new InvalidToken(realm, "the Authorization header is not a bearer token");
  return match[1];
}

/**
 * `GET` and `POST /userinfo` (OIDC Core §5.3): the claims of the token's user, by granted scope:
 * `sub` always, `name` with profile, `email` and `email_verified` with email.
 */
export async function userinfoEndpoint(request: OAuthRequest, { workspace, audit }: EndpointContext): Promise<OAuthResponse> {
  const realm = workspace.issuer;
  const token = await bearerToken(request, realm);
  if (token === undefined) return bearerRequired(realm);
  const check = token.length <= MAX_TOKEN_LENGTH ? await checkAccessToken(token, workspace) : { valid: false as const, reason: "too long" };
  // A token we signed, refused for its session or client, is an ordinary end, not junk.
  const claims = check.claims;
  if (claims) Object.assign(audit, { clientId: claims.client_id, accountable: true });
  if (!check.valid) throw new InvalidToken(realm, "the access token is invalid", check.reason);
  const client = await findClient(workspace.id, check.claims.client_id);
  assertOriginAllowed(request, client?.allowedOrigins ?? []);
  const scope = check.claims.scope.split(" ");
  if (!scope.includes("openid")) throw new InsufficientScope(realm, "openid");
  const user = check.user;
  if (!user || user.disabled) throw new InvalidToken(realm, "the access token is invalid", "user gone or disabled");
  return json({ sub: user.id, ...userClaims(user, scope) });
}
