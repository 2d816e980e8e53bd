import { db } from "@/lib/db.ts";
import { settings } from "@/lib/env.ts";
import { NotFound } from "@/lib/oauth/errors.ts";
import { splitList } from "@/lib/oauth/scopes.ts";

/** One authorization server: a tenant's workspace, as the endpoints see it. */
export interface Workspace {
  id: string;
  tenant: string;
  slug: string;
  /** `{APP_URL}/{tenant}/{workspace}` */
  issuer: string;
  identityPoolId: string;
  defaultScopes: readonly string[];
  accessTokenTtl: number;
  idTokenTtl: number;
  refreshTokenTtl: number;
}

// Tenant and workspace names as they may appear in a path; anything else is unknown without a query.
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,62})$/;

export function issuerFor(tenant: string, workspace: string): string {
  return `${settings().APP_URL}/${tenant}/${workspace}`;
}

/** The workspace at `/{tenant}/{workspace}`, or NotFound. */
export async function findWorkspace(tenant: string, workspace: string): Promise<Workspace> {
  if (!SLUG.test(tenant) || !SLUG.test(workspace)) throw new NotFound("no such tenant or workspace");
  const row = await db().workspace.findFirst({ where: { slug: workspace, tenant: { slug: tenant } } });
  if (!row) throw new NotFound("no such tenant or workspace");
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
  };
}
