import { TtlCache } from "@/lib/platform/cache.ts";
import { db } from "@/lib/platform/db.ts";
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

async function loadWorkspace(tenant: string, workspace: string): Promise<Workspace | null> {
  // Not the logo's bytes: every workspace in the cache would hold them (workspaceLogo reads them).
  const row = await db().workspace.findFirst({ where: { slug: workspace, tenant: { slug: tenant } }, omit: { brandLogoImage: true } });
  if (!row) return null;
  return {
    id: row.id,
    tenant,
    slug: workspace,
    issuer: issuerFor(tenant, workspace),
    identityPoolId: row.identityPoolId,
    defaultScopes: splitList(row.defaultScopes),
    accessTokenTtl: row.accessTokenTtl,
    idTokenTtl: row.idTokenTtl,
    refreshTokenTtl: row.refreshTokenTtl,
    sessionTtl: row.sessionTtl,
    // An unknown stored value (a later version's) errs on the safe side.
    mfaPolicy: isMfaPolicy(row.mfaPolicy) ? row.mfaPolicy : "required",
    dpopNonces: row.dpopNonces,
    passwordMinLength: row.passwordMinLength,
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

/** A workspace's uploaded logo, if it has one. */
export async function workspaceLogo(workspaceId: string): Promise<{ type: string; bytes: Uint8Array } | null> {
  const row = await db().workspace.findUnique({ where: { id: workspaceId }, select: { brandLogoImage: true, brandLogoType: true } });
  return row?.brandLogoImage && row.brandLogoType ? { type: row.brandLogoType, bytes: row.brandLogoImage } : null;
}
