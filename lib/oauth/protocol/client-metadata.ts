import { InvalidClientMetadata, InvalidRedirectUri } from "@/lib/oauth/protocol/errors.ts";

/**
 * RFC 7591 §2 client metadata as this server takes it. Only its shape is checked here; what the
 * values may be (grant types, scopes, methods, keys, origins) is the admin layer's to decide,
 * the same rules as for a client an operator adds.
 */
export interface ClientMetadata {
  clientName?: string;
  grantTypes: string[];
  scopes: string[];
  /** token_endpoint_auth_method */
  authMethod: string;
  jwks?: unknown;
  jwksUri?: string;
  /** id_token_signed_response_alg */
  idTokenAlg?: string;
  /** token_endpoint_auth_signing_alg */
  authSigningAlg?: string;
  /** `ropc_allowed_origins`: ours, as no standard name exists. Browser origins allowed CORS. */
  origins: string[];
  /** RFC 9449 §5.2 dpop_bound_access_tokens (default false). */
  dpopBoundAccessTokens: boolean;
  /** `ropc_password_reset_uri`: ours, as no standard name exists. The client's password-reset page. */
  passwordResetUri?: string;
}

/** RFC 7591 §2: the default token_endpoint_auth_method. */
export const DEFAULT_AUTH_METHOD = "client_secret_basic";

const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === "string");

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new InvalidClientMetadata(`${name} must be a string`);
  return value;
}

function optionalStrings(body: Record<string, unknown>, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (!isStrings(value)) throw new InvalidClientMetadata(`${name} must be an array of strings`);
  return value;
}

/**
 * Reads the metadata of a registration (RFC 7591 §3.1) or of its replacement (RFC 7592 §2.2).
 * Unknown members are ignored (§2). This server has no authorization endpoint, so no redirect
 * URI and no response type can be registered; `grant_types` has to be given, as its RFC default
 * (`authorization_code`) is a grant this server lacks.
 */
export function parseClientMetadata(body: Record<string, unknown>): ClientMetadata {
  const redirectUris = body.redirect_uris;
  if (redirectUris !== undefined && !(Array.isArray(redirectUris) && redirectUris.length === 0))
    throw new InvalidRedirectUri("this server has no redirect-based grants: register no redirect_uris");
  const responseTypes = optionalStrings(body, "response_types");
  if (responseTypes !== undefined && responseTypes.length > 0)
    throw new InvalidClientMetadata("this server has no authorization endpoint: register no response_types");
  const dpop = body.dpop_bound_access_tokens;
  if (dpop !== undefined && typeof dpop !== "boolean") throw new InvalidClientMetadata("dpop_bound_access_tokens must be a boolean");
  const grantTypes = optionalStrings(body, "grant_types");
  if (grantTypes === undefined || grantTypes.length === 0) throw new InvalidClientMetadata("grant_types is required");
  const scope = optionalString(body, "scope");
  const jwks = body.jwks;
  if (jwks !== undefined && (typeof jwks !== "object" || jwks === null || Array.isArray(jwks))) throw new InvalidClientMetadata("jwks must be a JWK Set");
  // RFC 7591 §2: the two MUST NOT both be present (on an update too, where one would silently win).
  if (jwks !== undefined && body.jwks_uri !== undefined) throw new InvalidClientMetadata("send jwks or jwks_uri, not both");
  return {
    clientName: optionalString(body, "client_name"),
    grantTypes,
    scopes: scope === undefined ? [] : scope.split(" ").filter((s) => s !== ""),
    authMethod: optionalString(body, "token_endpoint_auth_method") ?? DEFAULT_AUTH_METHOD,
    jwks,
    jwksUri: optionalString(body, "jwks_uri"),
    idTokenAlg: optionalString(body, "id_token_signed_response_alg"),
    authSigningAlg: optionalString(body, "token_endpoint_auth_signing_alg"),
    origins: optionalStrings(body, "ropc_allowed_origins") ?? [],
    dpopBoundAccessTokens: dpop ?? false,
    passwordResetUri: optionalString(body, "ropc_password_reset_uri"),
  };
}
