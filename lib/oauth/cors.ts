import { TtlCache } from "@/lib/cache.ts";
import { db } from "@/lib/db.ts";
import { settings } from "@/lib/env.ts";
import { UnauthorizedClient } from "@/lib/oauth/errors.ts";
import { splitList } from "@/lib/oauth/scopes.ts";
import type { Workspace } from "@/lib/oauth/workspace.ts";
import type { OAuthRequest } from "@/lib/oauth/http.ts";

const origins = new TtlCache<ReadonlySet<string>>(() => settings().CONFIG_CACHE_SECONDS * 1000);

/** Every browser origin some enabled client of the workspace allows. */
export function allowedOriginsOf(workspace: Workspace): Promise<ReadonlySet<string>> {
  return origins.get(workspace.id, async () => {
    const clients = await db().client.findMany({ where: { workspaceId: workspace.id, disabled: false }, select: { allowedOrigins: true } });
    return new Set(clients.flatMap((c) => splitList(c.allowedOrigins)));
  });
}

/**
 * A browser request (it has an Origin) is accepted only from an origin this client allows, so no
 * other site can make its visitors' browsers guess passwords or spend tokens as this client.
 */
export function assertOriginAllowed(request: OAuthRequest, clientOrigins: readonly string[]): void {
  const origin = request.headers.get("origin");
  if (origin !== null && !clientOrigins.includes(origin)) {
    throw new UnauthorizedClient("requests from this origin are not allowed for this client", { status: 403, detail: `origin ${origin.slice(0, 100)}` });
  }
}
