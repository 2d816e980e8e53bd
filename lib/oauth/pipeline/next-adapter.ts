import type { OAuthRequest, OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import type { WorkspaceHandler } from "@/lib/oauth/pipeline/workspace-route.ts";

/** Next's second route-handler argument for `/[tenant]/[workspace]/...`: the issuer's segments and the route's own (`[id]`). */
export interface WorkspaceRouteContext {
  params: Promise<{ tenant: string; workspace: string } & Record<string, string>>;
}

export type RouteHandler = (request: Request, context: WorkspaceRouteContext) => Promise<Response>;

/** The methods every route answers (those it does not implement with 405). */
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type Method = (typeof METHODS)[number];

/** Next's handlers for every method of a route file under `/[tenant]/[workspace]/`. */
export type NextHandlers = Record<Method, RouteHandler>;

export function toWebResponse({ status, headers, body }: OAuthResponse): Response {
  return new Response(body, { status, headers });
}

/**
 * Every method answered by `serve` (which says 405 for those it does not implement). A `HEAD`,
 * which Next hands to the `GET` handler as it is, is answered as a `GET` (without its body), as
 * the production server answers it (node-adapter.ts), marked as a `HEAD` for a DPoP proof's `htm`.
 */
export function nextHandlers(serve: WorkspaceHandler): NextHandlers {
  const handle: RouteHandler = async (request, { params }) => {
    const { tenant, workspace, ...own } = await params;
    const asked: OAuthRequest = request.method === "HEAD" ? Object.assign(new Request(request, { method: "GET" }), { head: true }) : request;
    return toWebResponse(await serve(asked, tenant, workspace, own));
  };
  return Object.fromEntries(METHODS.map((m) => [m, handle])) as NextHandlers;
}
