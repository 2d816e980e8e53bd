import { randomUUID } from "node:crypto";
import { recordAudit, recordUnauthenticatedFailure } from "@/lib/audit.ts";
import { settings } from "@/lib/env.ts";
import { addressGroup, clientIp, compileTrustProxy, UnknownClientAddress, type TrustProxy } from "@/lib/http/client-ip.ts";
import { logger, type Logger } from "@/lib/logger.ts";
import { allowedOriginsOf } from "@/lib/oauth/cors.ts";
import { InvalidRequest, MethodNotAllowed, OAuthError, ServerError, TooManyAttempts, TooManyRequests } from "@/lib/oauth/errors.ts";
import { startPruning } from "@/lib/oauth/retention.ts";
import { assertWithinBudget, spendBudget } from "@/lib/oauth/request-budget.ts";
import { errorResponse, toWebResponse, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/http.ts";
import { findWorkspace, type Workspace } from "@/lib/oauth/workspace.ts";

/** What an endpoint learns as it goes, written to the audit trail when the request ends. */
export interface AuditDraft {
  event?: string;
  /** Set once the client has authenticated: failures before that are unauthenticated. */
  clientId?: string;
  userId?: string;
  username?: string;
  /** The address the attempt is counted against (the end user's, for a trusted client). */
  ip?: string;
  /** The end user's browser, as a trusted client passes it (ropc-forwarded-user-agent). */
  userAgent?: string;
}

/** What every endpoint of a workspace gets besides the request. */
export interface EndpointContext {
  workspace: Workspace;
  requestId: string;
  /** A child logger: every line carries the request id. */
  log: Logger;
  /** The caller's address: the socket's, or the first untrusted X-Forwarded-For hop (TRUST_PROXY). */
  ip: string;
  audit: AuditDraft;
}

export type Endpoint = (request: OAuthRequest, context: EndpointContext) => Promise<OAuthResponse>;

/** Next's second route-handler argument for `/[tenant]/[workspace]/...`. */
export interface WorkspaceRouteContext {
  params: Promise<{ tenant: string; workspace: string }>;
}

export type RouteHandler = (request: Request, context: WorkspaceRouteContext) => Promise<Response>;

/** The same, without Web objects: what the production server calls (lib/http/node-bridge.ts). */
export type WorkspaceHandler = (request: OAuthRequest, tenant: string, workspace: string) => Promise<OAuthResponse>;

/** A route's Next handlers, one per method, and the handler they share. */
export type WorkspaceRoute = Record<Method, RouteHandler> & { serve: WorkspaceHandler };

/** The methods every route answers (those it does not implement with 405). */
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type Method = (typeof METHODS)[number];

export interface RouteOptions {
  /** Browsers may call it from the origins the workspace's clients allow (CORS). */
  cors?: boolean;
  /** Every outcome is an audit event (the endpoint names it in `context.audit.event`). */
  audit?: boolean;
}

let trust: { list: string | undefined; fn: TrustProxy } | undefined;
function trustProxy(): TrustProxy {
  const list = settings().TRUST_PROXY;
  if (!trust || trust.list !== list) trust = { list, fn: compileTrustProxy(list) };
  return trust.fn;
}

/**
 * Turns endpoints (functions from a request to a response) into Next route handlers for every
 * method, and into `serve` for the production server. This is the one place where errors become
 * responses: an `OAuthError` is answered as RFC 6749 §5.2 JSON; anything else is logged with the
 * request id and answered as a bare `server_error`, never with internals. It also answers CORS
 * and writes the audit trail.
 */
export function workspaceRoute(endpoints: Partial<Record<"GET" | "POST", Endpoint>>, options: RouteOptions = {}): WorkspaceRoute {
  const allowed = Object.keys(endpoints);
  const serve: WorkspaceHandler = async (request, tenant, slug) => {
    const requestId = randomUUID();
    const log = logger.child({ requestId });
    const draft: AuditDraft = {};
    let ip = "unknown";
    let workspace: Workspace | undefined;
    let response: OAuthResponse;
    let failure: OAuthError | undefined;
    startPruning();
    try {
      ip = callerAddress(request);
      assertWithinBudget(addressGroup(ip));
      workspace = await findWorkspace(tenant, slug);
      if (request.method === "OPTIONS" && options.cors) {
        response = { status: 204, headers: { Allow: allowed.join(", ") }, body: null };
      } else {
        const endpoint = endpoints[request.method as "GET" | "POST"];
        if (!endpoint) throw new MethodNotAllowed(allowed);
        response = await endpoint(request, { workspace, requestId, log, ip, audit: draft });
      }
    } catch (err) {
      failure = asOAuthError(err, log, draft);
      response = errorResponse(failure);
    }
    response.headers["X-Request-Id"] = requestId;
    if (options.cors && workspace) await addCorsHeaders(request, response, workspace, allowed);
    // A refusal for a spent budget costs nothing more: no count, no row, no log line.
    if (failure instanceof TooManyRequests) return response;
    const unauthenticated = failure !== undefined && draft.clientId === undefined && !(failure instanceof ServerError);
    if (unauthenticated) spendBudget(addressGroup(ip));
    if (options.audit && draft.event && workspace) {
      const record = {
        event: draft.event,
        outcome: failure instanceof TooManyAttempts ? "locked" : failure ? "failure" : "success",
        workspaceId: workspace.id,
        clientId: draft.clientId,
        userId: draft.userId,
        username: draft.username,
        ip: draft.ip ?? ip,
        userAgent: draft.userAgent ?? request.headers.get("user-agent") ?? undefined,
        reason: failure ? (failure.detail ?? failure.error) : undefined,
        requestId,
      } as const;
      if (unauthenticated) recordUnauthenticatedFailure(record);
      else recordAudit(record, log);
    }
    return response;
  };
  const handle: RouteHandler = async (request, { params }) => {
    const { tenant, workspace } = await params;
    return toWebResponse(await serve(request, tenant, workspace));
  };
  return { ...(Object.fromEntries(METHODS.map((m) => [m, handle])) as Record<Method, RouteHandler>), serve };
}

/**
 * CORS (Fetch standard): an origin some client of the workspace allows may read the answer; the
 * endpoints then refuse a request whose Origin its own client does not allow (client-auth.ts).
 */
async function addCorsHeaders(request: OAuthRequest, response: OAuthResponse, workspace: Workspace, methods: string[]): Promise<void> {
  const headers = response.headers;
  headers.Vary = headers.Vary ? `${headers.Vary}, Origin` : "Origin";
  const origin = request.headers.get("origin");
  if (!origin || !(await allowedOriginsOf(workspace)).has(origin)) return;
  headers["Access-Control-Allow-Origin"] = origin;
  if (request.method === "OPTIONS") {
    headers["Access-Control-Allow-Methods"] = methods.join(", ");
    headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type";
    headers["Access-Control-Max-Age"] = "600";
  } else {
    headers["Access-Control-Expose-Headers"] = "WWW-Authenticate, Retry-After, X-Request-Id";
  }
}

/** The caller's address; a request whose address our server could not read is refused. */
function callerAddress(request: OAuthRequest): string {
  try {
    return clientIp((name) => request.headers.get(name), trustProxy());
  } catch (err) {
    if (err instanceof UnknownClientAddress) throw new InvalidRequest("the client's address is unknown", { detail: err.message });
    throw err;
  }
}

function asOAuthError(err: unknown, log: Logger, draft: AuditDraft): OAuthError {
  if (err instanceof OAuthError) {
    // Unauthenticated junk is counted, not logged a line each (see recordUnauthenticatedFailure).
    const level = draft.clientId === undefined || err instanceof TooManyRequests ? "debug" : "info";
    log[level]({ event: "request.refused", error: err.error, status: err.status, reason: err.detail ?? err.description }, "request refused");
    return err;
  }
  log.error({ err }, "unexpected error");
  return new ServerError(err instanceof Error ? err.message : String(err));
}
