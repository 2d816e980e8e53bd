import { verifyClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { MAX_CLIENT_ID, MAX_SECRET, type ClientAuthMethod } from "@/lib/oauth/client-auth/method.ts";
import { InvalidClient, InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { decodeFormComponent } from "@/lib/oauth/protocol/form.ts";

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

const challenge = (realm: string) => ({ "WWW-Authenticate": `Basic realm="${realm}"` });

/**
 * RFC 6749 §2.3.1 and RFC 7617: `Basic base64(urlencode(id) ":" urlencode(secret))`, so that ids
 * and secrets may contain `:`, `+` and `%`.
 */
export function parseBasic(header: string, realm: string): { clientId: string; secret: string } {
  const fail = (detail: string) => new InvalidClient("client authentication failed", { detail, headers: challenge(realm) });
  const [scheme, token, ...rest] = header.trim().split(/\s+/);
  if (scheme?.toLowerCase() !== "basic" || !token || rest.length > 0) throw fail("unsupported Authorization header");
  if (token.length > 4 * MAX_SECRET || !BASE64.test(token)) throw fail("Basic credentials are not base64");
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(token, "base64"));
  } catch {
    throw fail("Basic credentials are not UTF-8");
  }
  const colon = decoded.indexOf(":");
  if (colon === -1) throw fail("Basic credentials have no colon");
  let clientId: string;
  let secret: string;
  try {
    clientId = decodeFormComponent(decoded.slice(0, colon));
    secret = decodeFormComponent(decoded.slice(colon + 1));
  } catch {
    throw fail("Basic credentials are not form-encoded");
  }
  if (clientId === "" || clientId.length > MAX_CLIENT_ID) throw fail("bad client_id in Basic credentials");
  if (secret === "" || secret.length > MAX_SECRET) throw fail("bad secret in Basic credentials");
  return { clientId, secret };
}

/** `client_secret_basic`: the id and secret in an HTTP Basic Authorization header. */
export const clientSecretBasic: ClientAuthMethod = {
  name: "client_secret_basic",
  provesCredential: true,
  usesSecret: true,
  isPresentedIn: (request) => request.headers.get("authorization") !== null,
  read(request, params, realm) {
    const { clientId, secret } = parseBasic(request.headers.get("authorization") ?? "", realm);
    const bodyId = params.get("client_id");
    if (bodyId !== undefined && bodyId !== clientId) throw new InvalidRequest("client_id does not match the Authorization header");
    return { clientId, credential: secret };
  },
  verify: (client, presented) => client.secretHash !== null && verifyClientSecret(client.secretHash, presented.credential ?? ""),
  challenge,
};
