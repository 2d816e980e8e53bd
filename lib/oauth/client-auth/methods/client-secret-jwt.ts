import type { ClientAuthMethod } from "@/lib/oauth/client-auth/method.ts";
import { hasHmacAssertion, readAssertion, verifyAssertion } from "@/lib/oauth/client-auth/jwt-assertion.ts";

export const CLIENT_SECRET_JWT_ALGS = ["HS256"] as const;

const utf8 = new TextEncoder();

/**
 * `client_secret_jwt` (OIDC Core §9): a JWT the client signs with HS256 keyed with its secret, in
 * `client_assertion`. Verifying it needs the secret itself, which a hash cannot give: a client
 * registered for this method keeps its secret as-is in `jwtSecret` (see README, "Client
 * authentication by JWT"); others have only the hash, and this method fails for them.
 */
export const clientSecretJwt: ClientAuthMethod = {
  name: "client_secret_jwt",
  provesCredential: true,
  usesSecret: true,
  signingAlgs: CLIENT_SECRET_JWT_ALGS,
  isPresentedIn: (_request, params) => hasHmacAssertion(params),
  read: (_request, params) => readAssertion(params),
  async verify(client, presented, context) {
    return client.jwtSecret !== null && verifyAssertion(presented.credential ?? "", client, utf8.encode(client.jwtSecret), CLIENT_SECRET_JWT_ALGS, context);
  },
};
