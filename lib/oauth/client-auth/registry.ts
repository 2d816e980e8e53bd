import type { ClientAuthMethod } from "@/lib/oauth/client-auth/method.ts";
import { clientSecretBasic } from "@/lib/oauth/client-auth/methods/client-secret-basic.ts";
import { clientSecretPost } from "@/lib/oauth/client-auth/methods/client-secret-post.ts";
import { none } from "@/lib/oauth/client-auth/methods/none.ts";
import { clientSecretJwt } from "@/lib/oauth/client-auth/methods/client-secret-jwt.ts";
import { privateKeyJwt } from "@/lib/oauth/client-auth/methods/private-key-jwt.ts";

/**
 * The client authentication methods this server implements, in the order a request is read
 * (Basic first: its header is checked before the body). Discovery advertises exactly these.
 */
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [clientSecretBasic, clientSecretPost, clientSecretJwt, privateKeyJwt, none];

/** Their names, as clients register them and discovery lists them. */
export const AUTH_METHODS: readonly string[] = CLIENT_AUTH_METHODS.map((m) => m.name);

/** The methods that prove a credential (what introspection, for confidential clients only, accepts). */
export const CREDENTIAL_METHODS: readonly string[] = CLIENT_AUTH_METHODS.filter((m) => m.provesCredential).map((m) => m.name);

/** The methods whose credential is the client's secret (a client registered for one gets a secret). */
export const SECRET_METHODS: readonly string[] = CLIENT_AUTH_METHODS.filter((m) => m.usesSecret).map((m) => m.name);

/** Every JWS algorithm a client assertion may use (token_endpoint_auth_signing_alg_values_supported). */
export const AUTH_SIGNING_ALGS: readonly string[] = [...new Set(CLIENT_AUTH_METHODS.flatMap((m) => m.signingAlgs ?? []))];
