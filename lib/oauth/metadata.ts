import { AUTH_METHODS } from "@/lib/oauth/client-auth.ts";
import { publicJson, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/http.ts";
import { keySet, SIGNING_ALG } from "@/lib/oauth/keys.ts";
import type { EndpointContext } from "@/lib/oauth/route.ts";
import { GRANTS } from "@/lib/oauth/token-endpoint.ts";
import { TtlCache } from "@/lib/cache.ts";
import { db } from "@/lib/db.ts";
import { settings } from "@/lib/env.ts";
import { splitList } from "@/lib/oauth/scopes.ts";

/** The claims our ID tokens and access tokens may carry (OIDC Discovery `claims_supported`). */
export const CLAIMS_SUPPORTED = [
  "iss", "sub", "aud", "exp", "iat", "auth_time", "jti", "amr", "azp", "at_hash",
  "name", "email", "email_verified", "refresh_token_expires_at",
] as const;

/** Seconds a cache may keep discovery and the JWKS: shorter than the pre-publication delay of a rotated key. */
const MAX_AGE = 300;

/**
 * `GET /.well-known/openid-configuration` (OIDC Discovery 1.0 §3, RFC 8414 §2): what this
 * workspace supports, no more and no less. There is no authorization endpoint (the password
 * grant needs none), so `authorization_endpoint` is absent and `response_types_supported` empty.
 */
export async function discovery(_request: OAuthRequest, { workspace }: EndpointContext): Promise<OAuthResponse> {
  const issuer = workspace.issuer;
  return publicJson(
    {
      issuer,
      token_endpoint: `${issuer}/oauth2/token`,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      userinfo_endpoint: `${issuer}/userinfo`,
      revocation_endpoint: `${issuer}/oauth2/revoke`,
      introspection_endpoint: `${issuer}/oauth2/introspect`,
      grant_types_supported: Object.keys(GRANTS),
      token_endpoint_auth_methods_supported: [...AUTH_METHODS],
      revocation_endpoint_auth_methods_supported: [...AUTH_METHODS],
      // Introspection is for confidential clients only.
      introspection_endpoint_auth_methods_supported: AUTH_METHODS.filter((m) => m !== "none"),
      scopes_supported: await scopesSupported(workspace.id),
      response_types_supported: [],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: [SIGNING_ALG],
      claims_supported: [...CLAIMS_SUPPORTED],
    },
    MAX_AGE,
  );
}

const scopes = new TtlCache<string[]>(() => settings().CONFIG_CACHE_SECONDS * 1000);

/** Every scope some client of the workspace may be granted (cached like client settings). */
function scopesSupported(workspaceId: string): Promise<string[]> {
  return scopes.get(workspaceId, async () => {
    const clients = await db().client.findMany({ where: { workspaceId, disabled: false }, select: { scopes: true } });
    return [...new Set(clients.flatMap((c) => splitList(c.scopes)))].sort();
  });
}

/** `GET /.well-known/jwks.json` (RFC 7517 §5): the public keys only. */
export async function jwks(): Promise<OAuthResponse> {
  return publicJson((await keySet()).jwks(), MAX_AGE);
}
