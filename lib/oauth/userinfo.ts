import { db } from "@/lib/db.ts";
import { checkAccessToken } from "@/lib/oauth/access-tokens.ts";
import { findClient } from "@/lib/oauth/client-auth.ts";
import { assertOriginAllowed } from "@/lib/oauth/cors.ts";
import { splitList } from "@/lib/oauth/scopes.ts";
import { bearerRequired, InsufficientScope, InvalidRequest, InvalidToken } from "@/lib/oauth/errors.ts";
import { json, readForm, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/http.ts";
import { MAX_TOKEN_LENGTH } from "@/lib/oauth/revocation.ts";
import type { EndpointContext } from "@/lib/oauth/route.ts";

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
export async function userinfoEndpoint(request: OAuthRequest, { workspace }: EndpointContext): Promise<OAuthResponse> {
  const realm = workspace.issuer;
  const token = await bearerToken(request, realm);
  if (token === undefined) return bearerRequired(realm);
  const check = token.length <= MAX_TOKEN_LENGTH ? await checkAccessToken(token, workspace) : { valid: false as const, reason: "too long" };
  if (!check.valid) throw new InvalidToken(realm, "the access token is invalid", check.reason);
  const client = await findClient(workspace.id, check.claims.client_id);
  assertOriginAllowed(request, splitList(client?.allowedOrigins));
  const scope = check.claims.scope.split(" ");
  if (!scope.includes("openid")) throw new InsufficientScope(realm, "openid");
  const user = await db().user.findFirst({ where: { id: check.claims.sub, workspaceId: workspace.id } });
  if (!user || user.disabled) throw new InvalidToken(realm, "the access token is invalid", "user gone or disabled");
  const claims: Record<string, unknown> = { sub: user.id };
  if (scope.includes("profile") && user.name !== null) claims.name = user.name;
  if (scope.includes("email") && user.email !== null) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  return json(claims);
}
