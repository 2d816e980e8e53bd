import { randomBytes } from "node:crypto";
import { registerCache } from "@/lib/platform/caches.ts";
import { addressGroup } from "@/lib/platform/client-address.ts";
import { settings } from "@/lib/platform/env.ts";
import type { ClientAuthMethod, Presented } from "@/lib/oauth/client-auth/method.ts";
import { CLIENT_AUTH_METHODS } from "@/lib/oauth/client-auth/registry.ts";
import { admitAttempt } from "@/lib/oauth/defence/brute-force.ts";
import type { Client, StoredClient } from "@/lib/oauth/model/client.ts";
import { hashClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { STAND_IN_KEYS } from "@/lib/oauth/client-auth/stand-in-keys.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import { assertOriginAllowed } from "@/lib/oauth/protocol/cors.ts";
import { InvalidClient, InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { parseUrlEncoded, type FormParams } from "@/lib/oauth/protocol/form.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";
import { findClient } from "@/lib/oauth/store/clients.ts";
import { clientAttemptHistory } from "@/lib/oauth/store/failed-logins.ts";

/**
 * Which client authentication the request uses (RFC 6749 §2.3): exactly one of the registered
 * methods. Two at once (Basic together with a body secret) is `invalid_request`; none is
 * `invalid_client`.
 */
export function presentedClient(request: OAuthRequest, params: FormParams, realm: string): { method: ClientAuthMethod } & Presented {
  const [method, ...others] = CLIENT_AUTH_METHODS.filter((m) => m.isPresentedIn(request, params));
  if (!method) throw new InvalidClient("client authentication is required");
  // Before either is read: two methods are invalid_request (RFC 6749 §5.2) however malformed one is.
  if (others.length > 0) throw new InvalidRequest("use one client authentication method, not two");
  return Object.assign({ method }, method.read(request, params, realm));
}

const NO_PARAMS = parseUrlEncoded("");

/**
 * What a request whose client was deleted while it ran is answered (RouteOptions.clientGone):
 * what the client's next request gets, `invalid_client` (401, with the challenge of a method read
 * from the request's headers: Basic's). It is reached only past the client's authentication, so
 * saying why tells the caller nothing it could not know.
 */
export function clientGone(request: OAuthRequest, workspace: Workspace): InvalidClient {
  const method = CLIENT_AUTH_METHODS.find((m) => m.challenge && m.isPresentedIn(request, NO_PARAMS));
  return new InvalidClient("the client no longer exists", { detail: "client deleted meanwhile", headers: method?.challenge?.(workspace.issuer) ?? {} });
}

// What an unknown client's credential is checked against, as a known client's wrong one is: a
// stored secret nobody knows, an HMAC key nobody knows, public keys whose private halves nobody has.
const UNKNOWN_CLIENT: StoredClient = {
  id: "",
  workspaceId: "",
  clientId: "",
  name: "",
  type: "confidential",
  secretHash: hashClientSecret(randomBytes(32).toString("base64url")),
  jwtSecret: randomBytes(32).toString("base64url"),
  jwks: STAND_IN_KEYS,
  jwksUri: null,
  authMethods: new Set(),
  authSigningAlg: null,
  grantTypes: new Set(),
  scopes: new Set(),
  defaultScopes: null,
  audiences: [],
  accessTokenTtl: null,
  idTokenTtl: null,
  idTokenSignedResponseAlg: "ES256",
  refreshTokenTtl: null,
  sessionTtl: null,
  allowedOrigins: [],
  forwardsEndUserIp: false,
  mfaPolicy: null,
  dpopBoundAccessTokens: false,
  passwordResetUri: null,
  disabled: true,
};

/**
 * Authenticates the client of a request to an endpoint of `workspace`. Any failure is
 * `invalid_client` (401; with the method's challenge, Basic's `WWW-Authenticate`): unknown client,
 * disabled client, a method it did not register, a missing or wrong credential. Wrong credentials
 * are counted like wrong passwords, per (client, address) and per address of `callerIp`
 * (defence/brute-force.ts): past the limits the caller gets 429 without the credential being
 * checked. A browser request from an origin the client does not allow is then refused (403).
 */
export async function authenticateClient(request: OAuthRequest, params: FormParams, workspace: Workspace, callerIp: string): Promise<Client> {
  const presented = presentedClient(request, params, workspace.issuer);
  const { method } = presented;
  const context = { issuer: workspace.issuer, maxAssertionSeconds: settings().CLIENT_ASSERTION_MAX_SECONDS };
  const fail = (detail: string) => new InvalidClient("client authentication failed", { detail, headers: method.challenge?.(workspace.issuer) ?? {} });
  const client = await findClient(workspace.id, presented.clientId);
  if (!client || client.disabled || !client.authMethods.has(method.name)) {
    // The same work and the same answers as for a known client's wrong credential: its failures
    // are counted under the id presented and locked out alike (429 after the limit), so that
    // neither timing nor a lockout tells which client ids exist. So too for a client tried with a
    // method it did not register (else a lockout that never came would tell that it exists).
    if (method.provesCredential) {
      const address = addressGroup(callerIp);
      const attempt = admitAttempt(
        { workspaceId: workspace.id, kind: "client", name: presented.clientId, ip: address },
        await clientAttemptHistory(workspace.id, address, presented.clientId),
      );
      try {
        await method.verify(UNKNOWN_CLIENT, presented, context);
      } catch (err) {
        attempt.release();
        throw err;
      }
      await attempt.failed();
    }
    throw fail(!client ? "unknown client" : client.disabled ? "client disabled" : `client did not register ${method.name}`);
  }
  if (method.provesCredential) {
    const address = addressGroup(callerIp);
    const proven = `${workspace.id} ${client.clientId} ${address}`;
    // An address that proved this client's credential moments ago is no guesser: its lockout
    // state need not be read again (the credential itself is checked every time).
    if (provenLately(proven) && (await method.verify(client, presented, context))) return accepted(request, client, method);
    provenAt.delete(proven);
    const attempt = admitAttempt(
      { workspaceId: workspace.id, kind: "client", name: client.clientId, ip: address },
      await clientAttemptHistory(workspace.id, address, client.clientId),
    );
    let verified: boolean;
    try {
      verified = await method.verify(client, presented, context);
    } catch (err) {
      // Refused before any credential was checked (a malformed assertion, an algorithm not
      // allowed, its claims, a jwks_uri that failed): not a guess, so not counted; and the
      // attempt must not stay in flight, where it would count as one until the process ends.
      attempt.release();
      throw err;
    }
    if (!verified) {
      await attempt.failed();
      throw fail(method.usesSecret ? "wrong client secret" : "wrong client key");
    }
    await attempt.succeeded();
    remember(proven);
  } else if (!(await method.verify(client, presented, context))) {
    throw fail(`${method.name} is for public clients`);
  }
  return accepted(request, client, method);
}

// The authenticated client: the cached client with its method, made once per cached client and
// method (frozen: no request may change what the next one sees), not copied at every request.
// Copying its thirty fields was 2.5% of what a password grant allocates; as an object spread it
// had also made introspection promote 1.4 kB a request out of the young generation (README,
// Performance). The cache lives as long as the cached client does (CONFIG_CACHE_SECONDS).
const acceptedAs = new WeakMap<StoredClient, Map<string, Client>>();

function accepted(request: OAuthRequest, client: StoredClient, method: ClientAuthMethod): Client {
  assertOriginAllowed(request, client.allowedOrigins);
  let byMethod = acceptedAs.get(client);
  if (!byMethod) acceptedAs.set(client, (byMethod = new Map()));
  let copy = byMethod.get(method.name);
  if (!copy) {
    copy = Object.freeze(Object.assign({}, client, { authMethod: method.name, confidential: client.type === "confidential" }));
    byMethod.set(method.name, copy);
  }
  return copy;
}

// (workspace, client, address group) → when that address last proved that client's credential.
// Per process, bounded, safe to lose: losing it only costs a read.
const provenAt = registerCache("client credentials proven lately", new Map<string, number>(), "state");
const PROVEN_MAX = 10_000;

function provenLately(key: string, now = Date.now()): boolean {
  const at = provenAt.get(key);
  return at !== undefined && now - at < settings().CONFIG_CACHE_SECONDS * 1000;
}

function remember(key: string, now = Date.now()): void {
  if (provenAt.size >= PROVEN_MAX) provenAt.clear();
  provenAt.set(key, now);
}
