import { z } from "zod";
import { isDeepStrictEqual } from "node:util";
import { AdminError, ClientChangedMeanwhile, NoSuchClient, NothingToChange } from "@/lib/admin/errors.ts";
import { confirmDeletion, deleteSessionsFirst, deletionReason, impactOf, type ConfirmDeletion, type Deletion } from "@/lib/admin/deletions.ts";
import { change } from "@/lib/admin/transaction.ts";
import {
  authMethods,
  authSigningAlg,
  clientJwks,
  clientJwksUri,
  clientMfaPolicy,
  clientTypeOf,
  grantTypes,
  idTokenAlg,
  ifGiven,
  lifetime,
  needsSecret,
  origins,
  passwordResetUri,
  scopeTokens,
  valid,
} from "@/lib/admin/values.ts";
import { workspaceByRef } from "@/lib/admin/workspaces.ts";
import { generateClientSecret, hashClientSecret, verifyClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { jwtSecretContext, type ClientType } from "@/lib/oauth/model/client.ts";
import { sealForWrite } from "@/lib/oauth/store/sealing.ts";
import { joinList, splitList } from "@/lib/oauth/model/lists.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";

/** What a client authenticates with when it is registered without saying. */
export const DEFAULT_AUTH_METHODS: readonly string[] = ["client_secret_basic"];

const CLIENT_ID = z.string().regex(/^[\x21-\x7e]{1,255}$/, "printable ASCII without spaces, at most 255 characters");
const CLIENT_NAME = z.string().trim().min(1, "empty").max(200, "at most 200 characters");

/** A client as an operator sees it: never its secret, nor the secret's hash. */
export interface ClientSummary {
  clientId: string;
  name: string;
  type: ClientType;
  authMethods: string[];
  /** token_endpoint_auth_signing_alg; null: any its JWT methods allow. */
  authSigningAlg: string | null;
  grantTypes: string[];
  scopes: string[];
  defaultScopes: string[] | null;
  allowedOrigins: string[];
  audiences: string[];
  accessTokenTtl: number | null;
  idTokenTtl: number | null;
  /** id_token_signed_response_alg */
  idTokenAlg: string;
  refreshTokenTtl: number | null;
  forwardsEndUserIp: boolean;
  /** Its own MFA policy; null: the workspace's. */
  mfaPolicy: string | null;
  /** RFC 9449 §5.2 dpop_bound_access_tokens: its token requests must carry a DPoP proof. */
  dpopBoundAccessTokens: boolean;
  /** Where its password-reset links lead; null: no recovery through it. */
  passwordResetUri: string | null;
  /** Its public keys for private_key_jwt, given as a JWK Set (RFC 7517), or where it publishes them. */
  jwks: unknown;
  jwksUri: string | null;
  disabled: boolean;
}

/** The clients of a workspace, by client id. */
export async function listClients(workspace: string): Promise<ClientSummary[]> {
  const w = await workspaceByRef(workspace);
  const rows = await db().client.findMany({ where: { workspaceId: w.id }, orderBy: { clientId: "asc" } });
  return rows.map(summaryOf);
}

/** One client of a workspace. */
export async function getClient(workspace: string, clientId: string): Promise<ClientSummary> {
  const w = await workspaceByRef(workspace);
  const row = await db().client.findUnique({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } } });
  if (!row) throw new NoSuchClient(clientId, workspace);
  return summaryOf(row);
}

type ClientRow = NonNullable<Awaited<ReturnType<ReturnType<typeof db>["client"]["findUnique"]>>>;

function summaryOf(c: ClientRow): ClientSummary {
  return {
    clientId: c.clientId,
    name: c.name,
    type: c.type === "public" ? "public" : "confidential",
    authMethods: splitList(c.authMethods),
    authSigningAlg: c.authSigningAlg,
    grantTypes: splitList(c.grantTypes),
    scopes: splitList(c.scopes),
    defaultScopes: c.defaultScopes === null ? null : splitList(c.defaultScopes),
    allowedOrigins: splitList(c.allowedOrigins),
    audiences: splitList(c.audiences),
    accessTokenTtl: c.accessTokenTtl,
    idTokenTtl: c.idTokenTtl,
    idTokenAlg: c.idTokenSignedResponseAlg,
    refreshTokenTtl: c.refreshTokenTtl,
    forwardsEndUserIp: c.forwardsEndUserIp,
    mfaPolicy: c.mfaPolicy,
    dpopBoundAccessTokens: c.dpopBoundAccessTokens,
    passwordResetUri: c.passwordResetUri,
    jwks: c.jwks === null ? null : (JSON.parse(c.jwks) as unknown),
    jwksUri: c.jwksUri,
    disabled: c.disabled,
  };
}

export interface NewClient {
  /** `tenant/workspace` */
  workspace: string;
  clientId: string;
  grants: readonly string[];
  /** The scopes it may be granted. */
  scopes: readonly string[];
  /** `none` makes it a public client; DEFAULT_AUTH_METHODS when not given. */
  authMethods?: readonly string[];
  /** token_endpoint_auth_signing_alg: the one algorithm its client assertions may use. */
  authSigningAlg?: string;
  name?: string;
  /** Browser origins allowed to call the endpoints as this client (CORS). */
  origins?: readonly string[];
  /** Extra access-token audiences. */
  audiences?: readonly string[];
  /** Trust it to pass its end users' addresses (ropc-forwarded-for): a confidential client only. */
  forwardsEndUserIp?: boolean;
  /** id_token_signed_response_alg: ES256 (the default), RS256 or EdDSA. */
  idTokenAlg?: string;
  /** Its public keys (a JWK Set) for private_key_jwt: this or `jwksUri` with that method. */
  jwks?: unknown;
  /** Where the server fetches its public keys instead. */
  jwksUri?: string;
  /** The hash of its registration access token, when it registered itself (RFC 7592). */
  registrationTokenHash?: string;
  /** RFC 9449 §5.2 dpop_bound_access_tokens: refuse its token requests without a DPoP proof. */
  dpopBoundAccessTokens?: boolean;
  /** Its page where password-reset links lead (a confidential client only): offers recovery to its users. */
  passwordResetUri?: string;
}

export interface AddedClient {
  type: ClientType;
  /**
   * The secret of a client registered for a secret method: returned this once, stored hashed
   * (and as it is when it is for client_secret_jwt, whose HMAC needs it).
   */
  secret?: string;
}

/** Registers a client; its type follows from its auth methods and is stored with it. */
export async function addClient(client: NewClient, actor?: string): Promise<AddedClient> {
  const w = await workspaceByRef(client.workspace);
  const clientId = valid(CLIENT_ID, client.clientId, "client id");
  const name = ifGiven(client.name, (v) => valid(CLIENT_NAME, v, "client name")) ?? clientId;
  const grants = grantTypes(client.grants);
  const scopes = scopeTokens(client.scopes);
  const methods = authMethods(client.authMethods ?? DEFAULT_AUTH_METHODS);
  const signingAlg = authSigningAlg(client.authSigningAlg ?? null, methods);
  const allowedOrigins = origins(client.origins ?? []);
  const forwardsEndUserIp = client.forwardsEndUserIp ?? false;
  const idTokenSignedResponseAlg = ifGiven(client.idTokenAlg, idTokenAlg);
  const type = clientTypeOf(methods);
  assertPublicClientRules(type, grants, forwardsEndUserIp);
  const resetUri = ifGiven(client.passwordResetUri, (v) => passwordResetUri(v, settings().isProduction)) ?? null;
  assertResetPageRules(type, resetUri);
  const jwks = ifGiven(client.jwks, clientJwks) ?? null;
  const jwksUri = ifGiven(client.jwksUri, (v) => clientJwksUri(v, settings().isProduction)) ?? null;
  assertKeysForMethods(methods, jwks, jwksUri);
  const secret = needsSecret(methods) ? generateClientSecret() : undefined;
  await change("client.add", { workspaceId: w.id, reason: clientId, actor }, async (tx) => {
    if (await tx.client.findUnique({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } } }))
      throw new AdminError(`Client ${clientId} exists already`);
    const jwtSecret = secret && methods.includes("client_secret_jwt") ? await sealForWrite(secret, jwtSecretContext(w.id, clientId), tx) : null;
    return tx.client.create({
      data: {
        workspaceId: w.id,
        clientId,
        name,
        type,
        secretHash: secret ? hashClientSecret(secret) : null,
        jwtSecret,
        jwks,
        jwksUri,
        authMethods: joinList(methods),
        authSigningAlg: signingAlg,
        grantTypes: joinList(grants),
        scopes: joinList(scopes),
        allowedOrigins: joinList(allowedOrigins),
        audiences: joinList(client.audiences ?? []),
        forwardsEndUserIp,
        idTokenSignedResponseAlg,
        dpopBoundAccessTokens: client.dpopBoundAccessTokens ?? false,
        registrationTokenHash: client.registrationTokenHash ?? null,
        passwordResetUri: resetUri,
      },
    });
  });
  return { type, secret };
}

/** Gives a confidential client a new secret (returned this once); the old one stops working. */
export async function rotateClientSecret(workspace: string, clientId: string): Promise<{ secret: string }> {
  const w = await workspaceByRef(workspace);
  const secret = generateClientSecret();
  await change("client.rotate_secret", { workspaceId: w.id, reason: clientId }, async (tx) => {
    const c = await tx.client.findUnique({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } } });
    if (!c) throw new NoSuchClient(clientId, workspace);
    if (c.type === "public") throw new AdminError(`${clientId} is a public client: it has no secret`);
    const jwtSecret = splitList(c.authMethods).includes("client_secret_jwt") ? await sealForWrite(secret, jwtSecretContext(w.id, clientId), tx) : null;
    const { count } = await tx.client.updateMany({ where: { id: c.id }, data: { secretHash: hashClientSecret(secret), jwtSecret } });
    if (count === 0) throw new NoSuchClient(clientId, workspace);
  });
  return { secret };
}

export interface ClientChanges {
  name?: string;
  grants?: readonly string[];
  scopes?: readonly string[];
  /** The scopes it gets when it asks for none: among its scopes. */
  defaultScopes?: readonly string[];
  /** Within its type: `none` for a public client, secret methods for a confidential one. */
  authMethods?: readonly string[];
  /** token_endpoint_auth_signing_alg; null: any its JWT methods allow. */
  authSigningAlg?: string | null;
  origins?: readonly string[];
  accessTokenTtl?: number;
  idTokenTtl?: number;
  /** id_token_signed_response_alg: ES256, RS256 or EdDSA. */
  idTokenAlg?: string;
  /** Its public keys (a JWK Set) for private_key_jwt; null removes them (and a jwks_uri). */
  jwks?: unknown;
  jwksUri?: string;
  refreshTokenTtl?: number;
  forwardsEndUserIp?: boolean;
  /** off, optional, required, or inherit (the workspace's). */
  mfaPolicy?: string;
  /** RFC 9449 §5.2 dpop_bound_access_tokens. */
  dpopBoundAccessTokens?: boolean;
  /** Its password-reset page; "" removes it (no recovery through it). */
  passwordResetUri?: string;
  disabled?: boolean;
}

/**
 * Changes a client; at least one change must be given. Returns how long until every instance
 * applies it (each caches clients for CONFIG_CACHE_SECONDS), and whether it is left on
 * client_secret_jwt without a secret kept for HMAC (switched to it from a hash-only method): its
 * assertions verify only after `rotateClientSecret`.
 */
export async function setClient(
  workspace: string,
  clientId: string,
  changes: ClientChanges,
  actor?: string,
  unchangedFrom?: ClientSummary,
): Promise<{ takesEffectWithinSeconds: number; needsNewSecret: boolean }> {
  const w = await workspaceByRef(workspace);
  const data = {
    name: ifGiven(changes.name, (v) => valid(CLIENT_NAME, v, "client name")),
    grantTypes: ifGiven(changes.grants, (v) => joinList(grantTypes(v))),
    scopes: ifGiven(changes.scopes, (v) => joinList(scopeTokens(v))),
    defaultScopes: ifGiven(changes.defaultScopes, (v) => joinList(scopeTokens(v))),
    authMethods: ifGiven(changes.authMethods, (v) => joinList(authMethods(v))),
    // Checked against the client's methods below, once they are known.
    authSigningAlg: changes.authSigningAlg,
    allowedOrigins: ifGiven(changes.origins, (v) => joinList(origins(v))),
    accessTokenTtl: ifGiven(changes.accessTokenTtl, lifetime),
    idTokenTtl: ifGiven(changes.idTokenTtl, lifetime),
    idTokenSignedResponseAlg: ifGiven(changes.idTokenAlg, idTokenAlg),
    jwks: changes.jwks === null ? null : ifGiven(changes.jwks, clientJwks),
    jwksUri: ifGiven(changes.jwksUri, (v) => clientJwksUri(v, settings().isProduction)),
    refreshTokenTtl: ifGiven(changes.refreshTokenTtl, lifetime),
    forwardsEndUserIp: changes.forwardsEndUserIp,
    mfaPolicy: ifGiven(changes.mfaPolicy, clientMfaPolicy),
    dpopBoundAccessTokens: changes.dpopBoundAccessTokens,
    passwordResetUri: ifGiven(changes.passwordResetUri, (v) => passwordResetUri(v, settings().isProduction)),
    disabled: changes.disabled,
  };
  const changed = Object.entries(data)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  if (changed.length === 0) throw new NothingToChange();
  const needsNewSecret = await change("client.set", { workspaceId: w.id, reason: `${clientId} ${changed.join(",")}`, actor }, async (tx) => {
    const c = await tx.client.findUnique({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } } });
    if (!c) throw new NoSuchClient(clientId, workspace);
    // Decided from an earlier read (a registered client's PUT, bounded by what it had then):
    // made only on the client as it was.
    if (unchangedFrom && !isDeepStrictEqual(summaryOf(c), unchangedFrom)) throw new ClientChangedMeanwhile(clientId, workspace);
    // The type is stored with the client: its methods may change within the type, never across it.
    const isPublic = c.type === "public";
    if (isPublic !== (clientTypeOf(splitList(data.authMethods ?? c.authMethods)) === "public")) {
      throw new AdminError(isPublic ? "A public client authenticates with none only" : "A confidential client needs a method that proves a credential");
    }
    // Keys given one way replace keys given the other.
    const keys = data.jwks !== undefined ? { jwks: data.jwks, jwksUri: null } : data.jwksUri !== undefined ? { jwks: null, jwksUri: data.jwksUri } : c;
    assertKeysForMethods(splitList(data.authMethods ?? c.authMethods), keys.jwks, keys.jwksUri);
    Object.assign(data, data.jwks !== undefined || data.jwksUri !== undefined ? { jwks: keys.jwks, jwksUri: keys.jwksUri } : {});
    assertPublicClientRules(c.type, splitList(data.grantTypes ?? c.grantTypes), data.forwardsEndUserIp ?? c.forwardsEndUserIp);
    assertResetPageRules(c.type, data.passwordResetUri === undefined ? c.passwordResetUri : data.passwordResetUri);
    // A pinned algorithm must fit the methods, old or new: changing the methods re-checks it.
    const signingAlg = authSigningAlg(data.authSigningAlg === undefined ? c.authSigningAlg : data.authSigningAlg, splitList(data.authMethods ?? c.authMethods));
    if (data.authSigningAlg !== undefined) data.authSigningAlg = signingAlg;
    const scopes = splitList(data.scopes ?? c.scopes);
    if (splitList(data.defaultScopes ?? c.defaultScopes).some((s) => !scopes.includes(s)))
      throw new AdminError("Default scopes must be among the client's scopes");
    // Only a client_secret_jwt client keeps its secret as it is (for HMAC); moved off that method,
    // it keeps the hash alone, as every other client does.
    const onJwtSecret = splitList(data.authMethods ?? c.authMethods).includes("client_secret_jwt");
    const dropsJwtSecret = c.jwtSecret !== null && !onJwtSecret;
    // On the client as read here: PostgreSQL's READ COMMITTED lets another change (or a deletion)
    // land between that read and this write, which would then undo it, or be undone by it.
    const { count } = await tx.client.updateMany({ where: { id: c.id, updatedAt: c.updatedAt }, data: dropsJwtSecret ? { ...data, jwtSecret: null } : data });
    if (count === 0)
      throw (await tx.client.count({ where: { id: c.id } })) > 0 ? new ClientChangedMeanwhile(clientId, workspace) : new NoSuchClient(clientId, workspace);
    return onJwtSecret && c.jwtSecret === null;
  });
  return { takesEffectWithinSeconds: settings().CONFIG_CACHE_SECONDS, needsNewSecret };
}

/**
 * Deletes a client with its sessions and refresh tokens (see Deletion for its users' access
 * tokens). Tokens it obtained for itself (client_credentials) carry no session: introspection
 * refuses them once an instance no longer has the client cached, within `takesEffectWithinSeconds`.
 * `confirm` is asked once the client is known to exist.
 */
export async function deleteClient(
  workspace: string,
  clientId: string,
  confirm?: ConfirmDeletion,
  actor?: string,
): Promise<Deletion & { takesEffectWithinSeconds: number }> {
  const w = await workspaceByRef(workspace);
  const c = await db().client.findUnique({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } } });
  if (!c) throw new NoSuchClient(clientId, workspace);
  const ttl = c.accessTokenTtl ?? w.accessTokenTtl;
  await confirmDeletion(await impactOf(db(), { clientId: c.id }, ttl), confirm);
  const impact = await change<Deletion>(
    "client.delete",
    (done) => ({ workspaceId: w.id, reason: deletionReason(`client ${clientId}`, done), actor }),
    async (tx) => {
      const done = await impactOf(tx, { clientId: c.id }, ttl);
      await deleteSessionsFirst(tx, { clientId: c.id });
      const { count } = await tx.client.deleteMany({ where: { id: c.id } });
      if (count === 0) throw new NoSuchClient(clientId, workspace);
      return done;
    },
  );
  return { ...impact, takesEffectWithinSeconds: settings().CONFIG_CACHE_SECONDS };
}

/** private_key_jwt needs the client's public keys: registered (`jwks`) or where to fetch them (`jwks_uri`), not both. */
function assertKeysForMethods(methods: readonly string[], jwks: string | null, jwksUri: string | null): void {
  if (jwks !== null && jwksUri !== null) throw new AdminError("Give the client's keys as --jwks or --jwks-uri, not both");
  if (methods.includes("private_key_jwt") && jwks === null && jwksUri === null)
    throw new AdminError("private_key_jwt needs the client's public keys (--jwks <file> or --jwks-uri <url>)");
}

/** What a public client may not have, on creation and on every change. */
function assertPublicClientRules(type: string, grants: readonly string[], forwardsEndUserIp: boolean): void {
  if (type !== "public") return;
  // RFC 6749 §4.4: the client credentials grant is for confidential clients only.
  if (grants.includes("client_credentials")) throw new AdminError("A public client cannot use client_credentials");
  // Anyone can call as a public client: trusting what it says of its users would let anyone pick the address the brute-force defence counts.
  if (forwardsEndUserIp) throw new AdminError("Only a confidential client can be trusted with its end users' addresses");
}

/**
 * Password recovery needs a client that authenticates: the reset request is its word that the
 * person asking is at its page, and a reset link must lead to a page whose owner is known.
 */
function assertResetPageRules(type: string, resetUri: string | null): void {
  if (type === "public" && resetUri !== null) throw new AdminError("Only a confidential client can offer password recovery (a password reset URI)");
}

/** The login app's own client: the password and refresh grants, trusted with its end users' addresses. */
const LOGIN_CLIENT = {
  grants: ["password", "refresh_token"],
  scopes: ["openid", "profile", "email", "offline_access"],
  authMethods: ["client_secret_basic"],
  name: "Login web app",
  forwardsEndUserIp: true,
} as const;

/**
 * Makes sure the login app's client exists with `secret` (when given): registers it when missing
 * (with a new secret, returned once, when none is given), or stores `secret` as its secret when
 * it differs. Safe to run again: the same settings change nothing.
 */
export async function ensureLoginClient(workspace: string, clientId: string, secret: string | undefined): Promise<{ outcome: string; secret?: string }> {
  const w = await workspaceByRef(workspace);
  const existing = await db().client.findUnique({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } } });
  if (!existing) {
    const added = await addClient({ workspace, clientId, ...LOGIN_CLIENT, passwordResetUri: `${settings().APP_URL}/reset-password` });
    if (secret === undefined) return { outcome: "created with a new secret", secret: added.secret };
  } else if (existing.type === "public") {
    throw new AdminError(`${clientId} is a public client: the login app needs a confidential one (set LOGIN_CLIENT_ID to another client id)`);
  } else if (secret === undefined) {
    return { outcome: "exists; its secret is unchanged (LOGIN_CLIENT_SECRET is not set)" };
  } else if (existing.secretHash && verifyClientSecret(existing.secretHash, secret)) {
    return { outcome: "exists, with LOGIN_CLIENT_SECRET as its secret" };
  }
  await change("client.set_secret", { workspaceId: w.id, reason: clientId }, (tx) =>
    tx.client.update({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } }, data: { secretHash: hashClientSecret(secret ?? "") } }),
  );
  return { outcome: existing ? "exists; its secret is now LOGIN_CLIENT_SECRET" : "created with LOGIN_CLIENT_SECRET as its secret" };
}
