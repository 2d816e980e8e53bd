import { AdminError, NothingToChange } from "@/lib/admin/errors.ts";
import {
  confirmDeletion,
  deleteSessionsFirst,
  deletionReason,
  impactOf,
  longestAccessTokenTtl,
  type ConfirmDeletion,
  type Deletion,
} from "@/lib/admin/deletions.ts";
import { change } from "@/lib/admin/transaction.ts";
import { ifGiven, lifetime, mfaPolicy, passwordMinLength, scopeTokens } from "@/lib/admin/values.ts";
import type { Prisma } from "@/lib/generated/prisma/client.ts";
import { joinList, splitList } from "@/lib/oauth/model/lists.ts";
import { isSlug, issuerFor } from "@/lib/oauth/model/workspace.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";

// A workspace is named `tenant/workspace`, as its issuer's path names it.

/** The workspace named `ref`, or an AdminError. */
export async function workspaceByRef(ref: string, tx: Prisma.TransactionClient = db()) {
  const [tenant, slug, ...rest] = ref.split("/");
  if (!tenant || !slug || rest.length || !isSlug(tenant) || !isSlug(slug))
    throw new AdminError(`Invalid workspace ${JSON.stringify(ref)}: write it tenant/workspace`);
  const workspace = await tx.workspace.findFirst({ where: { slug, tenant: { slug: tenant } } });
  if (!workspace) throw new AdminError(`No workspace ${ref}`);
  return workspace;
}

export interface WorkspaceSummary {
  /** `tenant/workspace` */
  ref: string;
  name: string;
  accessTokenTtl: number;
  idTokenTtl: number;
  refreshTokenTtl: number;
  defaultScopes: string[];
  mfaPolicy: string;
  /** RFC 9449 §8: DPoP proofs must carry a nonce the server provided. */
  dpopNonces: boolean;
  passwordMinLength: number;
}

/** Every workspace, by tenant then name. */
export async function listWorkspaces(): Promise<WorkspaceSummary[]> {
  const rows = await db().workspace.findMany({ include: { tenant: true }, orderBy: [{ tenant: { slug: "asc" } }, { slug: "asc" }] });
  return rows.map((w) => ({
    ref: `${w.tenant.slug}/${w.slug}`,
    name: w.name,
    accessTokenTtl: w.accessTokenTtl,
    idTokenTtl: w.idTokenTtl,
    refreshTokenTtl: w.refreshTokenTtl,
    defaultScopes: splitList(w.defaultScopes),
    mfaPolicy: w.mfaPolicy,
    dpopNonces: w.dpopNonces,
    passwordMinLength: w.passwordMinLength,
  }));
}

export interface NewWorkspace {
  /** `tenant/workspace`; the tenant is created if new. */
  ref: string;
  /** Display name; the workspace's slug when not given. */
  name?: string;
}

/** Creates a workspace (and its tenant if new); returns its issuer. */
export async function createWorkspace({ ref, name }: NewWorkspace): Promise<{ issuer: string }> {
  const [tenant = "", slug = "", ...rest] = ref.split("/");
  if (!isSlug(tenant) || !isSlug(slug) || rest.length)
    throw new AdminError(`Invalid workspace ${JSON.stringify(ref)}: lowercase letters, digits and dashes, written tenant/workspace`);
  await change("workspace.create", { reason: ref }, async (tx) => {
    const t = await tx.tenant.upsert({ where: { slug: tenant }, update: {}, create: { slug: tenant, name: tenant } });
    if (await tx.workspace.findFirst({ where: { tenantId: t.id, slug } })) throw new AdminError(`Workspace ${ref} exists already`);
    return tx.workspace.create({ data: { tenantId: t.id, slug, name: name ?? slug } });
  });
  return { issuer: issuerFor(tenant, slug) };
}

export interface WorkspaceChanges {
  accessTokenTtl?: number;
  idTokenTtl?: number;
  refreshTokenTtl?: number;
  /** Scopes granted when a client asks for none and has no defaults of its own. */
  defaultScopes?: readonly string[];
  /** Who must pass a second factor: off, optional or required. */
  mfaPolicy?: string;
  /** RFC 9449 §8: require server-provided nonces in DPoP proofs. */
  dpopNonces?: boolean;
  /** The shortest password accepted when one is set from now on (8 to 64); existing passwords stay. */
  passwordMinLength?: number;
}

/** Changes a workspace's token lifetimes, default scopes, MFA policy, DPoP nonces or password minimum; at least one must be given. */
export async function setWorkspace(ref: string, changes: WorkspaceChanges): Promise<void> {
  const w = await workspaceByRef(ref);
  const data = {
    accessTokenTtl: ifGiven(changes.accessTokenTtl, lifetime),
    idTokenTtl: ifGiven(changes.idTokenTtl, lifetime),
    refreshTokenTtl: ifGiven(changes.refreshTokenTtl, lifetime),
    defaultScopes: ifGiven(changes.defaultScopes, (v) => joinList(scopeTokens(v))),
    mfaPolicy: ifGiven(changes.mfaPolicy, mfaPolicy),
    dpopNonces: changes.dpopNonces,
    passwordMinLength: ifGiven(changes.passwordMinLength, passwordMinLength),
  };
  if (Object.values(data).every((v) => v === undefined)) throw new NothingToChange();
  await change("workspace.set", { workspaceId: w.id, reason: JSON.stringify(data) }, (tx) => tx.workspace.update({ where: { id: w.id }, data }));
}

/** What deleting a workspace removed besides its sessions and tokens. */
export interface WorkspaceDeletion extends Deletion {
  users: number;
  clients: number;
  /** Until then other instances may still answer at its issuer from their cache (seconds). */
  takesEffectWithinSeconds: number;
}

/**
 * Deletes a workspace with its users, clients, sessions, refresh tokens and failed sign-ins (and
 * its tenant when it was the tenant's last): its issuer stops answering. The audit trail keeps its
 * events. `confirm` is asked once the workspace is known to exist.
 */
export async function deleteWorkspace(ref: string, confirm?: ConfirmDeletion): Promise<WorkspaceDeletion> {
  const w = await workspaceByRef(ref);
  const ttl = await longestAccessTokenTtl(db(), w);
  await confirmDeletion(await impactOf(db(), { workspaceId: w.id }, ttl), confirm);
  const done = await change<Deletion & { users: number; clients: number }>(
    "workspace.delete",
    (d) => ({ workspaceId: w.id, reason: `${deletionReason(`workspace ${ref}`, d)}, ${d.users} user(s), ${d.clients} client(s)` }),
    async (tx) => {
      const impact = await impactOf(tx, { workspaceId: w.id }, ttl);
      const users = await tx.user.count({ where: { workspaceId: w.id } });
      const clients = await tx.client.count({ where: { workspaceId: w.id } });
      await tx.failedLogin.deleteMany({ where: { workspaceId: w.id } });
      await deleteSessionsFirst(tx, { workspaceId: w.id });
      const { count } = await tx.workspace.deleteMany({ where: { id: w.id } });
      if (count === 0) throw new AdminError(`No workspace ${ref}`);
      await tx.tenant.deleteMany({ where: { id: w.tenantId, workspaces: { none: {} } } });
      return { ...impact, users, clients };
    },
  );
  return { ...done, takesEffectWithinSeconds: settings().CONFIG_CACHE_SECONDS };
}
