import { discovery, jwks } from "@/lib/oauth/metadata.ts";
import { workspaceRoute } from "@/lib/oauth/route.ts";
import { tokenEndpoint } from "@/lib/oauth/token-endpoint.ts";

/** The route handlers of a workspace's endpoints; each `app/` route file re-exports one. */
export const tokenRoute = workspaceRoute({ POST: tokenEndpoint });
export const discoveryRoute = workspaceRoute({ GET: discovery });
export const jwksRoute = workspaceRoute({ GET: jwks });
