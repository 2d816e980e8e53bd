import { MAX_CLIENT_ID, type ClientAuthMethod } from "@/lib/oauth/client-auth/method.ts";
import { InvalidClient } from "@/lib/oauth/protocol/errors.ts";

/** `none`: a public client names itself with `client_id` and proves nothing (RFC 6749 §2.1). */
export const none: ClientAuthMethod = {
  name: "none",
  provesCredential: false,
  usesSecret: false,
  isPresentedIn: (request, params) =>
    request.headers.get("authorization") === null &&
    params.get("client_secret") === undefined &&
    params.get("client_assertion") === undefined &&
    params.get("client_id") !== undefined,
  read(_request, params) {
    const clientId = params.get("client_id") ?? "";
    if (clientId.length > MAX_CLIENT_ID) throw new InvalidClient("client authentication failed", { detail: "client_id too long" });
    return { clientId };
  },
  verify: (client) => client.type === "public",
};
