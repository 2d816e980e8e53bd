import type { JSONWebKeySet } from "jose";
import { TtlCache } from "@/lib/platform/cache.ts";
import { openAtRest } from "@/lib/platform/at-rest.ts";
import { db, isMissingRowError, sqlRows } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { settings } from "@/lib/platform/env.ts";
import { jwtSecretContext, type ClientType, type StoredClient } from "@/lib/oauth/model/client.ts";
import { splitList } from "@/lib/oauth/model/lists.ts";
import { isMfaPolicy } from "@/lib/oauth/model/mfa.ts";
import { DEFAULT_ID_TOKEN_ALG, isSigningAlg } from "@/lib/oauth/protocol/algorithms.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import { registerCache } from "@/lib/platform/caches.ts";

type Int = number | bigint;
type Bool = boolean | number | bigint;

/** A client's row as the drivers give it (lib/platform/db.ts, `sqlRows`). */
interface ClientRow extends Record<string, unknown> {
  id: string;
  workspaceId: string;
  clientId: string;
  name: string;
  type: string;
  secretHash: string | null;
  jwtSecret: string | null;
  jwks: string | null;
  jwksUri: string | null;
  authMethods: string;
  authSigningAlg: string | null;
  grantTypes: string;
  scopes: string;
  defaultScopes: string | null;
  audiences: string;
  accessTokenTtl: Int | null;
  idTokenTtl: Int | null;
  idTokenSignedResponseAlg: string;
  refreshTokenTtl: Int | null;
  sessionTtl: Int | null;
  allowedOrigins: string;
  forwardsEndUserIp: Bool;
  mfaPolicy: string | null;
  dpopBoundAccessTokens: Bool;
  passwordResetUri: string | null;
  disabled: Bool;
  registrationTokenHash: string | null;
  createdAt: Date | string;
}

// Plain SQL: reloaded every CONFIG_CACHE_SECONDS, so part of a server's steady state (lib/platform/db.ts).
async function loadRow(workspaceId: string, clientId: string): Promise<ClientRow | null> {
  const [row] = await sqlRows<ClientRow>(
    db(),
    Prisma.sql`SELECT "id", "workspaceId", "clientId", "name", "type", "secretHash", "jwtSecret", "jwks", "jwksUri", "authMethods", "authSigningAlg",
        "grantTypes", "scopes", "defaultScopes", "audiences", "accessTokenTtl", "idTokenTtl", "idTokenSignedResponseAlg", "refreshTokenTtl",
        "sessionTtl", "allowedOrigins", "forwardsEndUserIp", "mfaPolicy", "dpopBoundAccessTokens", "passwordResetUri", "disabled",
        "registrationTokenHash", "createdAt"
      FROM "Client" WHERE "workspaceId" = ${workspaceId} AND "clientId" = ${clientId}`,
  );
  return row ?? null;
}

const int = (value: Int | null) => (value === null ? null : Number(value));

function toStoredClient(row: ClientRow): StoredClient {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    clientId: row.clientId,
    name: row.name,
    type: row.type === "public" ? "public" : ("confidential" satisfies ClientType),
    secretHash: row.secretHash,
    jwtSecret: row.jwtSecret === null ? null : openAtRest(row.jwtSecret, jwtSecretContext(row.workspaceId, row.clientId)),
    jwks: row.jwks === null ? null : (JSON.parse(row.jwks) as JSONWebKeySet),
    jwksUri: row.jwksUri,
    authMethods: new Set(splitList(row.authMethods)),
    authSigningAlg: row.authSigningAlg,
    grantTypes: new Set(splitList(row.grantTypes)),
    scopes: new Set(splitList(row.scopes)),
    defaultScopes: row.defaultScopes === null ? null : splitList(row.defaultScopes),
    audiences: splitList(row.audiences),
    accessTokenTtl: int(row.accessTokenTtl),
    idTokenTtl: int(row.idTokenTtl),
    idTokenSignedResponseAlg: isSigningAlg(row.idTokenSignedResponseAlg) ? row.idTokenSignedResponseAlg : DEFAULT_ID_TOKEN_ALG,
    refreshTokenTtl: int(row.refreshTokenTtl),
    sessionTtl: int(row.sessionTtl),
    allowedOrigins: splitList(row.allowedOrigins),
    forwardsEndUserIp: Boolean(row.forwardsEndUserIp),
    mfaPolicy: row.mfaPolicy === null ? null : isMfaPolicy(row.mfaPolicy) ? row.mfaPolicy : "required",
    dpopBoundAccessTokens: Boolean(row.dpopBoundAccessTokens),
    passwordResetUri: row.passwordResetUri,
    disabled: Boolean(row.disabled),
  };
}

// Client settings, cached per process for CONFIG_CACHE_SECONDS: a client disabled or changed
// through the CLI takes effect everywhere within that bound.
const clients = registerCache("clients", new TtlCache<StoredClient | null>(() => settings().CONFIG_CACHE_SECONDS * 1000));

/** The client `clientId` of a workspace (cached), or null. */
export function findClient(workspaceId: string, clientId: string): Promise<StoredClient | null> {
  return clients.get(`${workspaceId} ${clientId}`, async () => {
    const row = await loadRow(workspaceId, clientId);
    return row && toStoredClient(row);
  });
}

/**
 * Whether `err` is a write that found its client gone because the client was deleted while the
 * request ran (by an operator here, or on another instance while this one's cache still held it).
 * The client is then forgotten here at once, so its next request is refused as an unknown
 * client's rather than failing its write again until the cache would have let it go. Read from
 * the database, never the cache; a failure to read is no answer (false).
 */
export async function failedForClientGone(err: unknown, workspaceId: string, clientId: string): Promise<boolean> {
  if (!isMissingRowError(err)) return false;
  let row: ClientRow | null;
  try {
    row = await loadRow(workspaceId, clientId);
  } catch {
    return false;
  }
  if (row) return false;
  clients.delete(`${workspaceId} ${clientId}`);
  return true;
}

const origins = registerCache("client origins", new TtlCache<ReadonlySet<string>>(() => settings().CONFIG_CACHE_SECONDS * 1000));

/** Every browser origin some enabled client of the workspace allows (cached like client settings). */
export function allowedOriginsOf(workspace: Workspace): Promise<ReadonlySet<string>> {
  return origins.get(workspace.id, async () => {
    const rows = await sqlRows<{ allowedOrigins: string }>(
      db(),
      Prisma.sql`SELECT "allowedOrigins" FROM "Client" WHERE "workspaceId" = ${workspace.id} AND "disabled" = ${false}`,
    );
    return new Set(rows.flatMap((c) => splitList(c.allowedOrigins)));
  });
}

const scopes = registerCache("client scopes", new TtlCache<readonly string[]>(() => settings().CONFIG_CACHE_SECONDS * 1000));

/** Every scope some enabled client of the workspace may be granted (cached like client settings). */
export function scopesSupported(workspaceId: string): Promise<readonly string[]> {
  return scopes.get(workspaceId, async () => {
    const rows = await sqlRows<{ scopes: string }>(
      db(),
      Prisma.sql`SELECT "scopes" FROM "Client" WHERE "workspaceId" = ${workspaceId} AND "disabled" = ${false}`,
    );
    return [...new Set(rows.flatMap((c) => splitList(c.scopes)))].sort();
  });
}

/** What the registration endpoint needs of a client that registered itself (RFC 7592). */
export interface Registration {
  registrationTokenHash: string;
  secretHash: string | null;
  issuedAt: Date;
  jwks: JSONWebKeySet | null;
  jwksUri: string | null;
  /** Disabled by an operator: its registration answers as an unknown client's. */
  disabled: boolean;
}

/** A client's registration, read from the database (never the cache: its token is checked against it); null for one an operator added. */
export async function findRegistration(workspaceId: string, clientId: string): Promise<Registration | null> {
  const row = await loadRow(workspaceId, clientId);
  if (!row?.registrationTokenHash) return null;
  return {
    registrationTokenHash: row.registrationTokenHash,
    secretHash: row.secretHash,
    issuedAt: new Date(row.createdAt),
    jwks: row.jwks === null ? null : (JSON.parse(row.jwks) as JSONWebKeySet),
    jwksUri: row.jwksUri,
    disabled: Boolean(row.disabled),
  };
}
