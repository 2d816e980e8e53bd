import { randomUUID } from "node:crypto";
import { logger, type Logger } from "@/lib/logger.ts";
import { MethodNotAllowed, OAuthError, ServerError } from "@/lib/oauth/errors.ts";
import { errorResponse } from "@/lib/oauth/http.ts";
import { findWorkspace, type Workspace } from "@/lib/oauth/workspace.ts";

/** What every endpoint of a workspace gets besides the request. */
export interface EndpointContext {
  workspace: Workspace;
  requestId: string;
  /** A child logger: every line carries the request id. */
  log: Logger;
}

export type Endpoint = (request: Request, context: EndpointContext) => Promise<Response>;

/** Next's second route-handler argument for `/[tenant]/[workspace]/...`. */
export interface WorkspaceRouteContext {
  params: Promise<{ tenant: string; workspace: string }>;
}

export type RouteHandler = (request: Request, context: WorkspaceRouteContext) => Promise<Response>;

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
type Method = (typeof METHODS)[number];

/**
 * Turns endpoints (functions from a Web `Request` to a `Response`) into Next route handlers for
 * every method. This is the one place where errors become responses: an `OAuthError` is answered
 * as RFC 6749 §5.2 JSON; anything else is logged with the request id and answered as a bare
 * `server_error`, never with internals.
 */
export function workspaceRoute(endpoints: Partial<Record<"GET" | "POST", Endpoint>>): Record<Method, RouteHandler> {
  const allowed = Object.keys(endpoints);
  const handle: RouteHandler = async (request, { params }) => {
    const requestId = randomUUID();
    const log = logger.child({ requestId });
    let response: Response;
    try {
      const { tenant, workspace: slug } = await params;
      const workspace = await findWorkspace(tenant, slug);
      const endpoint = endpoints[request.method as "GET" | "POST"];
      if (!endpoint) throw new MethodNotAllowed(allowed);
      response = await endpoint(request, { workspace, requestId, log });
    } catch (err) {
      response = errorResponse(asOAuthError(err, log));
    }
    response.headers.set("X-Request-Id", requestId);
    return response;
  };
  return Object.fromEntries(METHODS.map((m) => [m, handle])) as Record<Method, RouteHandler>;
}

function asOAuthError(err: unknown, log: Logger): OAuthError {
  if (err instanceof OAuthError) {
    log.info({ event: "request.refused", error: err.error, status: err.status, reason: err.detail ?? err.description }, "request refused");
    return err;
  }
  log.error({ err }, "unexpected error");
  return new ServerError(err instanceof Error ? err.message : String(err));
}
