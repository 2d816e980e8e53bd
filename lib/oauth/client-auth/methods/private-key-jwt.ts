import { createLocalJWKSet, type JWTVerifyGetKey } from "jose";
import type { ClientAuthMethod } from "@/lib/oauth/client-auth/method.ts";
import { hasHmacAssertion, readAssertion, verifyAssertion } from "@/lib/oauth/client-auth/jwt-assertion.ts";
import { JWKS_URI_RULES, remoteKeys } from "@/lib/oauth/client-auth/jwks-uri.ts";
import type { StoredClient } from "@/lib/oauth/model/client.ts";
import { InvalidClient } from "@/lib/oauth/protocol/errors.ts";
import { settings } from "@/lib/platform/env.ts";

/** Asymmetric algorithms only: never `none`, never an HMAC (whose key would be a public key). */
export const PRIVATE_KEY_JWT_ALGS = ["ES256", "RS256", "PS256", "EdDSA"] as const;

// A client's key set, imported once per cached client object (it lives CONFIG_CACHE_SECONDS):
// jose's local JWKS imports each key at its first use and keeps it.
const keySets = new WeakMap<StoredClient, JWTVerifyGetKey>();
async function keysOf(client: StoredClient): Promise<JWTVerifyGetKey | undefined> {
  if (client.jwksUri) {
    try {
      return await remoteKeys(client.jwksUri, { production: settings().isProduction, ...JWKS_URI_RULES });
    } catch (err) {
      // The client's URL failing (unreachable, refused by the SSRF rules, too slow, too large) is its failure.
      if (err instanceof Error) throw new InvalidClient("client authentication failed", { detail: `jwks_uri: ${err.message}` });
      throw err;
    }
  }
  if (!client.jwks) return undefined;
  let keys = keySets.get(client);
  if (!keys) keySets.set(client, (keys = createLocalJWKSet(client.jwks)));
  return keys;
}

/**
 * `private_key_jwt` (OIDC Core §9, RFC 7523 §2.2): a JWT the client signs with a private key
 * whose public half it registered (`jwks`, or `jwks_uri` where we fetch it), in `client_assertion`.
 */
export const privateKeyJwt: ClientAuthMethod = {
  name: "private_key_jwt",
  provesCredential: true,
  usesSecret: false,
  signingAlgs: PRIVATE_KEY_JWT_ALGS,
  isPresentedIn: (_request, params) => params.get("client_assertion") !== undefined && !hasHmacAssertion(params),
  read: (_request, params) => readAssertion(params),
  async verify(client, presented, context) {
    const keys = await keysOf(client);
    return keys !== undefined && verifyAssertion(presented.credential ?? "", client, keys, PRIVATE_KEY_JWT_ALGS, context);
  },
};
