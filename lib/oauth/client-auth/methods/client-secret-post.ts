import { verifyClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { MAX_CLIENT_ID, MAX_SECRET, type ClientAuthMethod } from "@/lib/oauth/client-auth/method.ts";
import { InvalidClient } from "@/lib/oauth/protocol/errors.ts";

/** `client_secret_post`: `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1). */
export const clientSecretPost: ClientAuthMethod = {
  name: "client_secret_post",
  provesCredential: true,
  usesSecret: true,
  isPresentedIn: (_request, params) => params.get("client_secret") !== undefined,
  read(_request, params) {
    const clientId = params.get("client_id");
    const secret = params.get("client_secret") ?? "";
    if (clientId === undefined) throw new InvalidClient("client authentication is required");
    if (clientId.length > MAX_CLIENT_ID) throw new InvalidClient("client authentication failed", { detail: "client_id too long" });
    if (secret.length > MAX_SECRET) throw new InvalidClient("client authentication failed", { detail: "secret too long" });
    return { clientId, credential: secret };
  },
  verify: (client, presented) => client.secretHash !== null && verifyClientSecret(client.secretHash, presented.credential ?? ""),
};
