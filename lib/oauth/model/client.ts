import type { ScopePolicy } from "@/lib/oauth/protocol/scopes.ts";
import type { MfaPolicy } from "@/lib/oauth/model/mfa.ts";
import type { SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";
import type { JSONWebKeySet } from "jose";

/** RFC 6749 §2.1: a confidential client can keep a credential; a public one cannot. Stored, never inferred. */
export type ClientType = "confidential" | "public";

/** A client as registered in a workspace. */
export interface StoredClient {
  /** The row's id (what refresh tokens and sessions refer to). */
  id: string;
  workspaceId: string;
  clientId: string;
  /** What people see it called (an operator's choice, or its registration's `client_name`). */
  name: string;
  type: ClientType;
  /** Salted SHA-256 of its secret, for the secret methods. */
  secretHash: string | null;
  /** The secret itself, kept only for a client registered for client_secret_jwt (HMAC needs it). */
  jwtSecret: string | null;
  /** Its public keys, for private_key_jwt: registered inline, or where to fetch them. */
  jwks: JSONWebKeySet | null;
  jwksUri: string | null;
  /** The token_endpoint_auth_methods it registered. */
  authMethods: ReadonlySet<string>;
  /** token_endpoint_auth_signing_alg: the one JWS algorithm its client assertions may use; null: any its method allows. */
  authSigningAlg: string | null;
  grantTypes: ReadonlySet<string>;
  scopes: ReadonlySet<string>;
  defaultScopes: readonly string[] | null;
  audiences: readonly string[];
  accessTokenTtl: number | null;
  idTokenTtl: number | null;
  /** The JWS algorithm of its ID tokens (`id_token_signed_response_alg`). */
  idTokenSignedResponseAlg: SigningAlg;
  refreshTokenTtl: number | null;
  sessionTtl: number | null;
  /** Browser origins allowed to call the endpoints as this client (CORS). */
  allowedOrigins: readonly string[];
  /** A confidential server-side client trusted to pass its end user's address and User-Agent. */
  forwardsEndUserIp: boolean;
  /** Its own MFA policy; null: the workspace's. */
  mfaPolicy: MfaPolicy | null;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: its token requests must carry a DPoP proof. */
  dpopBoundAccessTokens: boolean;
  /** Its page where password-reset links lead (a confidential client only); null: it offers no recovery. */
  passwordResetUri: string | null;
  disabled: boolean;
}

/** A client that has proven who it is on this request (or, for a public client, named itself). */
export interface Client extends StoredClient {
  /** The method it authenticated with on this request. */
  authMethod: string;
  confidential: boolean;
}

/** A client's scopes; its defaults are its own, else the workspace's (those it is allowed). */
export function scopePolicy(client: Pick<StoredClient, "scopes" | "defaultScopes">, workspace: { defaultScopes: readonly string[] }): ScopePolicy {
  return { allowed: client.scopes, defaults: client.defaultScopes ?? workspace.defaultScopes };
}

/** What a client's secret kept for client_secret_jwt, sealed, is bound to (lib/platform/at-rest.ts). */
export const jwtSecretContext = (workspaceId: string, clientId: string) => `Client:${workspaceId}/${clientId}`;
