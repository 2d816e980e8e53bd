import { TtlCache } from "@/lib/platform/cache.ts";
import { db, sqlRows } from "@/lib/platform/db.ts";
import { Prisma } from "@/lib/generated/prisma/client.ts";
import { settings } from "@/lib/platform/env.ts";
import { NotFound } from "@/lib/oauth/protocol/errors.ts";
import { splitList } from "@/lib/oauth/model/lists.ts";
import { isMfaPolicy } from "@/lib/oauth/model/mfa.ts";
import { isLogoType } from "@/lib/oauth/model/branding.ts";
import { isSlug, issuerFor, type Workspace } from "@/lib/oauth/model/workspace.ts";
import { registerCache } from "@/lib/platform/caches.ts";

const workspaces = registerCache("workspaces", new TtlCache<Workspace | null>(() => settings().CONFIG_CACHE_SECONDS * 1000, 1000));

/** The workspace at `/{tenant}/{workspace}` (cached for CONFIG_CACHE_SECONDS), or NotFound. */
export async function findWorkspace(tenant: string, workspace: string): Promise<Workspace> {
  // A name no workspace can have is unknown without a query.
  if (!isSlug(tenant) || !isSlug(workspace)) throw new NotFound("no such tenant or workspace");
  const found = await workspaces.get(`${tenant}/${workspace}`, () => loadWorkspace(tenant, workspace));
  if (!found) throw new NotFound("no such tenant or workspace");
  return found;
}

interface WorkspaceRow extends Record<string, unknown> {
  id: string;
  name: string;
  identityPoolId: string;
  defaultScopes: string;
  accessTokenTtl: number | bigint;
  idTokenTtl: number | bigint;
  refreshTokenTtl: number | bigint;
  sessionTtl: number | bigint | null;
  mfaPolicy: string;
  dpopNonces: boolean | number | bigint;
  passwordMinLength: number | bigint;
  brandName: string | null;
  brandLogoUrl: string | null;
  brandLogoType: string | null;
  brandAccent: string | null;
  brandHelpUrl: string | null;
  brandTermsUrl: string | null;
  brandPrivacyUrl: string | null;
}

async function loadWorkspace(tenant: string, workspace: string): Promise<Workspace | null> {
  // Not the logo's bytes: every workspace in the cache would hold them (workspaceLogo reads them).
  // Plain SQL: reloaded every CONFIG_CACHE_SECONDS, so part of a server's steady state (lib/platform/db.ts).
  const [row] = await sqlRows<WorkspaceRow>(
    db(),
    Prisma.sql`SELECT w."id", w."name", w."identityPoolId", w."defaultScopes", w."accessTokenTtl", w."idTokenTtl", w."refreshTokenTtl",
        w."sessionTtl", w."mfaPolicy", w."dpopNonces", w."passwordMinLength", w."brandName", w."brandLogoUrl", w."brandLogoType",
        w."brandAccent", w."brandHelpUrl", w."brandTermsUrl", w."brandPrivacyUrl"
      FROM "Workspace" w JOIN "Tenant" t ON t."id" = w."tenantId" WHERE t."slug" = ${tenant} AND w."slug" = ${workspace}`,
  );
  if (!row) return null;
  return {
    id: row.id,
    tenant,
    slug: workspace,
    issuer: issuerFor(tenant, workspace),
    identityPoolId: row.identityPoolId,
    defaultScopes: splitList(row.defaultScopes),
    accessTokenTtl: Number(row.accessTokenTtl),
    idTokenTtl: Number(row.idTokenTtl),
    refreshTokenTtl: Number(row.refreshTokenTtl),
    sessionTtl: row.sessionTtl === null ? null : Number(row.sessionTtl),
    // An unknown stored value (a later version's) errs on the safe side.
    mfaPolicy: isMfaPolicy(row.mfaPolicy) ? row.mfaPolicy : "required",
    dpopNonces: Boolean(row.dpopNonces),
    passwordMinLength: Number(row.passwordMinLength),
    branding: {
      name: row.brandName ?? row.name,
      logoUrl: row.brandLogoUrl,
      logoType: isLogoType(row.brandLogoType) ? row.brandLogoType : null,
      accent: row.brandAccent,
      helpUrl: row.brandHelpUrl,
      termsUrl: row.brandTermsUrl,
      privacyUrl: row.brandPrivacyUrl,
    },
  };
}

/** A workspace's uploaded logo, if it has one (read at each branding document: plain SQL, like the workspace). */
export async function workspaceLogo(workspaceId: string): Promise<{ type: string; bytes: Uint8Array } | null> {
  const [row] = await sqlRows<{ brandLogoImage: Uint8Array | null; brandLogoType: string | null }>(
    db(),
    Prisma.sql`SELECT "brandLogoImage", "brandLogoType" FROM "Workspace" WHERE "id" = ${workspaceId}`,
  );
  return row?.brandLogoImage && row.brandLogoType ? { type: row.brandLogoType, bytes: row.brandLogoImage } : null;
}
