import { AUTH_METHODS, AUTH_SIGNING_ALGS, CREDENTIAL_METHODS } from "@/lib/oauth/client-auth/registry.ts";
import { type OAuthRequest, type OAuthResponse, publicJsonText } from "@/lib/oauth/protocol/responses.ts";
import { keySet, type KeySet } from "@/lib/oauth/tokens/keys.ts";
import { DPOP_ALGS, SIGNING_ALGS } from "@/lib/oauth/protocol/algorithms.ts";
import type { EndpointContext, RouteName } from "@/lib/oauth/endpoints/context.ts";
import { GRANTS } from "@/lib/oauth/grants/registry.ts";
import { scopesSupported } from "@/lib/oauth/store/clients.ts";
import { publicPasswordPolicy } from "@/lib/platform/password-policy.ts";
import { DISCOVERY_MAX_AGE_SECONDS } from "@/lib/platform/env.ts";
import { CLAIMS_SUPPORTED } from "@/lib/oauth/tokens/claims.ts";
import { recoveryIsOn } from "@/lib/oauth/endpoints/account/password-reset.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** Seconds a cache may keep discovery and the JWKS: shorter than the pre-publication delay of a rotated key. */
const MAX_AGE = DISCOVERY_MAX_AGE_SECONDS;

/**
 * Each workspace's document as JSON, made again only when one of its inputs is not the one it was
 * made from: the workspace (its cache's object: issuer, password policy), its clients' scopes
 * (their cache's array) and whether mail goes out; the rest is the code's. Building and
 * serialising the document at every request cost a fifth of the requests a second it serves
 * (README, Performance). An entry lives as long as its workspace's object, in the workspace cache.
 */
const documents = new WeakMap<Workspace, { scopes: readonly string[]; recovery: boolean; text: string }>();

/**
 * `GET /.well-known/openid-configuration` (OIDC Discovery 1.0 §3, RFC 8414 §2): what this
 * workspace supports, no more and no less. There is no authorization endpoint (the password
 * grant needs none), so `authorization_endpoint` is absent and `response_types_supported` empty.
 */
export async function discovery(_request: OAuthRequest, { workspace, urlFor }: EndpointContext): Promise<OAuthResponse> {
  const scopes = await scopesSupported(workspace.id);
  const recovery = recoveryIsOn();
  let made = documents.get(workspace);
  if (made?.scopes !== scopes || made.recovery !== recovery) {
    made = { scopes, recovery, text: JSON.stringify(discoveryDocument(workspace, urlFor, scopes, recovery)) };
    documents.set(workspace, made);
  }
  return publicJsonText(made.text, MAX_AGE);
}

function discoveryDocument(workspace: Workspace, urlFor: (name: RouteName) => string, scopes: readonly string[], recovery: boolean) {
  return {
    issuer: workspace.issuer,
    token_endpoint: urlFor("token"),
    jwks_uri: urlFor("jwks"),
    userinfo_endpoint: urlFor("userinfo"),
    revocation_endpoint: urlFor("revocation"),
    introspection_endpoint: urlFor("introspection"),
    registration_endpoint: urlFor("registration"),
    grant_types_supported: GRANTS.map((g) => g.type),
    token_endpoint_auth_methods_supported: [...AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: [...AUTH_SIGNING_ALGS],
    revocation_endpoint_auth_methods_supported: [...AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: [...AUTH_SIGNING_ALGS],
    // Introspection is for confidential clients only.
    introspection_endpoint_auth_methods_supported: [...CREDENTIAL_METHODS],
    introspection_endpoint_auth_signing_alg_values_supported: [...AUTH_SIGNING_ALGS],
    scopes_supported: scopes,
    response_types_supported: [],
    // OIDC Discovery §3 takes its absence for true: there is no authorization request to refer to.
    request_uri_parameter_supported: false,
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: [...SIGNING_ALGS],
    claims_supported: [...CLAIMS_SUPPORTED],
    // RFC 9449 §5.1: the token endpoint and our resource endpoints take DPoP proofs signed so.
    dpop_signing_alg_values_supported: [...DPOP_ALGS],
    // Ours: what a new password must be, for a page to say before it is submitted (lib/platform/password-policy.ts).
    password_policy: publicPasswordPolicy({ minLength: workspace.passwordMinLength }),
    // Ours: password recovery, only while the server can send mail (the login app shows
    // "Forgot password?" only then).
    ...(recovery ? { password_reset_endpoint: urlFor("passwordReset"), password_reset_complete_endpoint: urlFor("passwordResetComplete") } : {}),
  };
}

/** Each key set's public keys as JSON (a set lives for KEY_CACHE_SECONDS: lib/oauth/tokens/keys.ts). */
const published = new WeakMap<KeySet, string>();

/** `GET /.well-known/jwks.json` (RFC 7517 §5): the public keys only. */
export async function jwks(): Promise<OAuthResponse> {
  const keys = await keySet();
  let text = published.get(keys);
  if (text === undefined) {
    text = JSON.stringify(keys.jwks());
    published.set(keys, text);
  }
  return publicJsonText(text, MAX_AGE);
}
