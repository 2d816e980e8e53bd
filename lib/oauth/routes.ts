import { introspectionEndpoint } from "@/lib/oauth/introspection.ts";
import { discovery, jwks } from "@/lib/oauth/metadata.ts";
import { revocationEndpoint } from "@/lib/oauth/revocation.ts";
import { workspaceRoute } from "@/lib/oauth/route.ts";
import { tokenEndpoint } from "@/lib/oauth/token-endpoint.ts";
import { userinfoEndpoint } from "@/lib/oauth/userinfo.ts";

/** The route handlers of a workspace's endpoints; each `app/` route file re-exports one. */
export const tokenRoute = workspaceRoute({ POST: tokenEndpoint }, { cors: true, audit: true });
export const revocationRoute = workspaceRoute({ POST: revocationEndpoint }, { cors: true, audit: true });
export const introspectionRoute = workspaceRoute({ POST: introspectionEndpoint }, { cors: true });
export const userinfoRoute = workspaceRoute({ GET: userinfoEndpoint, POST: userinfoEndpoint }, { cors: true });
export const discoveryRoute = workspaceRoute({ GET: discovery });
export const jwksRoute = workspaceRoute({ GET: jwks });
