import { randomUUID } from "node:crypto";
import { addClient, deleteClient, getClient, setClient, type ClientSummary } from "@/lib/admin/clients.ts";
import { AdminError, ClientChangedMeanwhile, NoSuchClient } from "@/lib/admin/errors.ts";
import { generateClientSecret, hashClientSecret, verifyClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { checkAccessToken } from "@/lib/oauth/tokens/verify.ts";
import { authorizationScheme, checkTokenBinding } from "@/lib/oauth/endpoints/access-token-caller.ts";
import { findRegistration, type Registration } from "@/lib/oauth/store/clients.ts";
import { parseClientMetadata } from "@/lib/oauth/protocol/client-metadata.ts";
import { DEFAULT_ID_TOKEN_ALG } from "@/lib/oauth/protocol/algorithms.ts";
import { InsufficientScope, InvalidClientMetadata, InvalidRequest, InvalidToken } from "@/lib/oauth/protocol/errors.ts";
import { readJsonObject } from "@/lib/oauth/protocol/form.ts";
import { USER_SCOPES } from "@/lib/oauth/protocol/scopes.ts";
import { ACCOUNT_SCOPE } from "@/lib/oauth/endpoints/account/caller.ts";
import { json, NO_STORE, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { MAX_TOKEN_LENGTH } from "@/lib/oauth/endpoints/revocation.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** The scope an initial access token needs (RFC 7591 §3). */
export const REGISTER_SCOPE = "register_clients";

/**
 * What a registrar may not hand out: the right to register clients itself (a registered client
 * with it could mint registrars of its own, out of the operator's sight). An operator grants it.
 */
function registrable<M extends { scopes: string[]; passwordResetUri?: string }>(metadata: M, present: { passwordResetUri: string | null } | null = null): M {
  if (metadata.scopes.includes(REGISTER_SCOPE))
    throw new InvalidClientMetadata(`a registered client may not have the ${REGISTER_SCOPE} scope: an operator grants it (client set --scopes)`);
  // The reset page is where the server mails any user's reset link when the client asks: one a
  // registrar chose would send genuine mails from this server to its own site. An update may keep
  // the page an operator set (RFC 7592 §2.2 sends every field back), or drop it.
  if (metadata.passwordResetUri !== undefined && metadata.passwordResetUri !== present?.passwordResetUri)
    throw new InvalidClientMetadata(
      "a registered client may not set ropc_password_reset_uri: any user's reset link is mailed to it, so an operator sets it (client set --password-reset-uri)",
    );
  return metadata;
}

/** How a client proves itself: an update may not move it between a secret and keys (nor to or from none, a change of type). */
const credentialKind = (method: string | undefined) => (method === "private_key_jwt" ? "keys" : method === "none" ? "none" : "secret");

/**
 * An update gives a client nothing it does not have now, as for scopes (withinScopes): no grant
 * (a client_credentials job that gave itself the password grant would sign users in), no browser
 * origin, no release from DPoP binding; and it keeps the kind of credential it authenticates with
 * (moved from keys to a secret, it would have none; from a secret to keys, its secret would stay
 * behind, alive again at the next move). Narrowing is an update like any other. Widening takes a
 * new registration, or an operator, whose own settings a client's update cannot undo.
 */
function withinPresent<M extends { grantTypes: string[]; origins: string[]; dpopBoundAccessTokens: boolean; authMethod: string }>(
  metadata: M,
  present: ClientSummary,
): M {
  const widening = " (widening takes a new registration or an operator)";
  const grants = metadata.grantTypes.filter((g) => !present.grantTypes.includes(g));
  if (grants.length > 0) throw new InvalidClientMetadata(`grant_types may hold only grants the client has now: not ${grants.join(" ")}${widening}`);
  const origins = metadata.origins.filter((o) => !present.allowedOrigins.includes(o));
  if (origins.length > 0) throw new InvalidClientMetadata(`ropc_allowed_origins may hold only origins the client has now: not ${origins.join(" ")}${widening}`);
  if (present.dpopBoundAccessTokens && !metadata.dpopBoundAccessTokens)
    throw new InvalidClientMetadata("dpop_bound_access_tokens may not be turned off by an update: an operator does it (client set)");
  const [was, now] = [credentialKind(present.authMethods[0]), credentialKind(metadata.authMethod)];
  if (was !== now && was !== "none" && now !== "none")
    throw new InvalidClientMetadata(
      `an update keeps how the client authenticates (${present.authMethods[0]}): register a new client to change between a secret and keys`,
    );
  return metadata;
}

/**
 * RFC 7591 §2 lets the server refuse requested metadata: a registered client gets no scope beyond
 * `allowed` (on registration, the registrar's own scopes; on an update, the client's present
 * ones), so that registering, or updating a registration, never gives more than its author holds.
 * Scopes that describe a user are free: a token carries them only for a user who signs in, never
 * for the client itself (client_credentials leaves them out), so they give a registrar nothing.
 * All but `account`: with it a client's tokens manage the user's account (sessions, password,
 * profile, activity), which a registrar that does not hold it may not hand out.
 */
function withinScopes<M extends { scopes: string[] }>(metadata: M, allowed: readonly string[], whose: string): M {
  const beyond = metadata.scopes.filter((s) => !(USER_SCOPES.has(s) && s !== ACCOUNT_SCOPE) && !allowed.includes(s));
  if (beyond.length > 0) throw new InvalidClientMetadata(`scope may hold only scopes ${whose} (and user scopes): not ${beyond.join(" ")}`);
  return metadata;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
// An initial access token is one of our access tokens, which may be DPoP-bound (RFC 9449 §7.1).
const BEARER_OR_DPOP = /^(?:Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The token of the Authorization header (RFC 6750 §2.1): registration takes it there only. */
function headerToken(request: OAuthRequest, realm: string, what: string, schemes = BEARER): string {
  const header = request.headers.get("authorization");
  if (header === null) throw new InvalidToken(realm, `${what} is required`, "no token");
  const match = schemes.exec(header);
  if (!match?.[1] || match[1].length > MAX_TOKEN_LENGTH) throw new InvalidToken(realm, `${what} is invalid`, "malformed Authorization header");
  return match[1];
}

/** `tenant/workspace`, as the admin layer names a workspace. */
const workspaceRef = (workspace: Workspace) => `${workspace.tenant}/${workspace.slug}`;

/** An admin-layer refusal is a rule the metadata broke: its message is written for a reader and holds no secret. */
async function underClientRules<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AdminError && !(err instanceof NoSuchClient) && !(err instanceof ClientChangedMeanwhile))
      throw new InvalidClientMetadata(err.message.replace(/[^\x20-\x7e]/g, "?"));
    throw err;
  }
}

/** The client's metadata as RFC 7591 §3.2.1 answers it (never its secret, which is shown once, at registration). */
function metadataOf(client: ClientSummary, registration: Pick<Registration, "issuedAt" | "jwks" | "jwksUri">, clientUri: string): Record<string, unknown> {
  return {
    client_id: client.clientId,
    client_id_issued_at: Math.floor(registration.issuedAt.getTime() / 1000),
    client_name: client.name,
    grant_types: client.grantTypes,
    scope: client.scopes.join(" "),
    token_endpoint_auth_method: client.authMethods[0],
    ...(client.authSigningAlg ? { token_endpoint_auth_signing_alg: client.authSigningAlg } : {}),
    id_token_signed_response_alg: client.idTokenAlg,
    ...(registration.jwks ? { jwks: registration.jwks } : {}),
    ...(registration.jwksUri ? { jwks_uri: registration.jwksUri } : {}),
    ropc_allowed_origins: client.allowedOrigins,
    dpop_bound_access_tokens: client.dpopBoundAccessTokens,
    ...(client.passwordResetUri ? { ropc_password_reset_uri: client.passwordResetUri } : {}),
    registration_client_uri: clientUri,
  };
}

/**
 * `POST /oauth2/register` (RFC 7591 §3): registers a client. The initial access token is a
 * client_credentials access token of this workspace with the `register_clients` scope. The new
 * client obeys the same rules as one an operator adds (lib/admin/clients.ts); its secret, where
 * its method needs one, and its registration access token (stored hashed) are shown this once.
 */
export async function registrationEndpoint(request: OAuthRequest, { workspace, audit, urlFor }: EndpointContext): Promise<OAuthResponse> {
  audit.event = "client.register";
  const realm = workspace.issuer;
  const scheme = authorizationScheme(request);
  const token = headerToken(request, realm, "an initial access token", BEARER_OR_DPOP);
  const check = await checkAccessToken(token, workspace);
  if (check.claims) Object.assign(audit, { clientId: check.claims.client_id, accountable: true });
  if (!check.valid) throw new InvalidToken(realm, "the initial access token is invalid", check.reason, scheme);
  // A DPoP-bound token needs the DPoP scheme and a proof by its key; an unbound one, Bearer.
  const dpop = await checkTokenBinding(request, token, check.claims.cnf?.jkt, workspace, scheme);
  // An end user's token, whatever its scope, speaks for the user, not for a client allowed to register others.
  if (check.claims.idp !== undefined || check.claims.sub !== check.claims.client_id)
    throw new InvalidToken(realm, "the initial access token is invalid", "an end user's token", scheme);
  if (!check.claims.scope.split(" ").includes(REGISTER_SCOPE)) throw new InsufficientScope(realm, REGISTER_SCOPE, scheme);
  const registrar = await getClient(workspaceRef(workspace), check.claims.client_id).catch((err: unknown) => {
    if (err instanceof AdminError) throw new InvalidToken(realm, "the initial access token is invalid", "its client is gone", scheme);
    throw err;
  });
  // The token says what the registrar held when it was issued; an operator may have taken it back since.
  if (!registrar.scopes.includes(REGISTER_SCOPE)) throw new InsufficientScope(realm, REGISTER_SCOPE, scheme);
  const metadata = withinScopes(registrable(parseClientMetadata(await readJsonObject(request))), registrar.scopes, "the registering client has itself");
  const clientId = randomUUID();
  const registrationToken = generateClientSecret();
  const added = await underClientRules(() =>
    addClient(
      {
        workspace: workspaceRef(workspace),
        clientId,
        name: metadata.clientName,
        grants: metadata.grantTypes,
        scopes: metadata.scopes,
        authMethods: [metadata.authMethod],
        origins: metadata.origins,
        idTokenAlg: metadata.idTokenAlg,
        authSigningAlg: metadata.authSigningAlg,
        jwks: metadata.jwks,
        jwksUri: metadata.jwksUri,
        dpopBoundAccessTokens: metadata.dpopBoundAccessTokens,
        passwordResetUri: metadata.passwordResetUri,
        registrationTokenHash: hashClientSecret(registrationToken),
      },
      check.claims.client_id,
    ),
  );
  const registration = await findRegistration(workspace.id, clientId);
  if (!registration) throw new Error("the client just registered is gone");
  const client = await getClient(workspaceRef(workspace), clientId);
  const response = json(
    {
      ...metadataOf(client, registration, registrationClientUri(urlFor("registration"), clientId)),
      // RFC 7591 §3.2.1: 0, the secret does not expire.
      ...(added.secret ? { client_secret: added.secret, client_secret_expires_at: 0 } : {}),
      registration_access_token: registrationToken,
    },
    201,
  );
  if (dpop?.nextNonce !== undefined) response.headers["DPoP-Nonce"] = dpop.nextNonce;
  return response;
}

/** RFC 7592 §1: where a registered client manages its registration; the client id is in the query. */
function registrationClientUri(endpoint: string, clientId: string): string {
  return `${endpoint}?${new URLSearchParams({ client_id: clientId })}`;
}

/**
 * `GET`, `PUT` and `DELETE` at the registration client URI (RFC 7592 §2), with the registration
 * access token. An unknown client and a wrong token get the same 401 (§2.1), so that neither
 * tells which clients exist. GET and PUT answer the client's information with the registration
 * access token it presented (§3). PUT replaces the metadata under the same rules as registration and
 * keeps the secret and the registration access token; DELETE deletes the client as the CLI's
 * `client delete` does, with its sessions and refresh tokens.
 */
export async function registrationManagementEndpoint(request: OAuthRequest, { workspace, audit, urlFor }: EndpointContext): Promise<OAuthResponse> {
  const method = request.method;
  audit.event = method === "GET" ? "client.registration.read" : method === "PUT" ? "client.registration.update" : "client.registration.delete";
  const realm = workspace.issuer;
  const token = headerToken(request, realm, "the registration access token");
  const clientId = new URL(request.url, "http://localhost").searchParams.get("client_id") ?? "";
  // An id no client can have is unknown without a query (PostgreSQL could not look up one with a NUL).
  const possible = clientId.length > 0 && clientId.length <= 255 && !clientId.includes("\u0000");
  const registration = possible ? await findRegistration(workspace.id, clientId) : null;
  const unknown = () => new InvalidToken(realm, "the registration access token is invalid", "no such registered client");
  if (!registration || !verifyClientSecret(registration.registrationTokenHash, token))
    throw registration ? new InvalidToken(realm, "the registration access token is invalid", "wrong registration token") : unknown();
  // Suspended by an operator: it may not read, rewrite or delete its registration meanwhile.
  if (registration.disabled) throw new InvalidToken(realm, "the registration access token is invalid", "the client is disabled");
  Object.assign(audit, { clientId, accountable: true });
  try {
    return await manageRegistration(request, workspace, clientId, registration, urlFor("registration"), token);
  } catch (err) {
    // Deleted meanwhile (two DELETEs at once, a PUT beside a DELETE): as for an unknown client (§2.1).
    if (err instanceof NoSuchClient) throw unknown();
    throw err;
  }
}

/** What a registered client's registration access token may do, once checked. */
async function manageRegistration(
  request: OAuthRequest,
  workspace: Workspace,
  clientId: string,
  registration: Registration,
  endpoint: string,
  token: string,
): Promise<OAuthResponse> {
  const { method } = request;
  const ref = workspaceRef(workspace);
  const clientUri = registrationClientUri(endpoint, clientId);
  if (method === "DELETE") {
    await deleteClient(ref, clientId, undefined, clientId);
    return { status: 204, headers: { ...NO_STORE }, body: null };
  }
  if (method === "PUT") {
    const body = await readJsonObject(request);
    // RFC 7592 §2.2: the body names the client, and its secret if it sends one must be the one it has.
    if (body.client_id !== clientId) throw new InvalidRequest("client_id must be the registered client's");
    if (
      body.client_secret !== undefined &&
      !(typeof body.client_secret === "string" && registration.secretHash && verifyClientSecret(registration.secretHash, body.client_secret))
    )
      throw new InvalidRequest("client_secret does not match the client's");
    // Decided from the client as it is, and written only on it as it was read: an operator's
    // change landing between the two (narrowing it) is read again, never undone.
    for (let attempt = 1; ; attempt++) {
      try {
        await replaceMetadata(ref, clientId, body);
        break;
      } catch (err) {
        if (!(err instanceof ClientChangedMeanwhile)) throw err;
        if (attempt === MAX_ATTEMPTS) throw new InvalidRequest("the client was changed by someone else meanwhile: send the update again");
      }
    }
  }
  const current = await findRegistration(workspace.id, clientId);
  if (!current) throw new NoSuchClient(clientId, ref);
  // RFC 7592 §3: the token goes with the client's information, the one it presented (kept: stored
  // hashed, it could not be shown otherwise), so that a client that stores the answer keeps it.
  return json({ ...metadataOf(await getClient(ref, clientId), current, clientUri), registration_access_token: token });
}

// How often a PUT reads the client again when it changed meanwhile, before it gives up.
const MAX_ATTEMPTS = 3;

/** A PUT's new metadata (RFC 7592 §2.2), within what the client has now. */
async function replaceMetadata(ref: string, clientId: string, body: Record<string, unknown>): Promise<void> {
  // Widening what it may do takes a new registration by a registrar, or an operator.
  const present = await getClient(ref, clientId);
  const metadata = withinPresent(withinScopes(registrable(parseClientMetadata(body), present), present.scopes, "the client has now"), present);
  // Its secret is kept only as a hash unless it was registered for client_secret_jwt, and an
  // HMAC needs the secret itself: switched by PUT, its assertions could never verify.
  if (metadata.authMethod === "client_secret_jwt" && !present.authMethods.includes("client_secret_jwt")) {
    throw new InvalidClientMetadata("token_endpoint_auth_method client_secret_jwt needs a secret kept for it: register a new client with it");
  }
  // Replaced, not merged: what the body leaves out goes back to its default (§2.2).
  await underClientRules(() =>
    setClient(
      ref,
      clientId,
      {
        name: metadata.clientName ?? clientId,
        grants: metadata.grantTypes,
        scopes: metadata.scopes,
        authMethods: [metadata.authMethod],
        origins: metadata.origins,
        idTokenAlg: metadata.idTokenAlg ?? DEFAULT_ID_TOKEN_ALG,
        dpopBoundAccessTokens: metadata.dpopBoundAccessTokens,
        passwordResetUri: metadata.passwordResetUri ?? "",
        authSigningAlg: metadata.authSigningAlg ?? null,
        // Keys too: left out, they are removed (and private_key_jwt is refused without them).
        ...(metadata.jwksUri !== undefined ? { jwksUri: metadata.jwksUri } : { jwks: metadata.jwks ?? null }),
      },
      clientId,
      present,
    ),
  );
}
