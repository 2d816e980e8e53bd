import type { AuditDraft, Endpoint, EndpointContext, RouteName } from "@/lib/oauth/endpoints/context.ts";
import { randomUUID } from "node:crypto";
import { recordAudit, recordUnauthenticatedFailure } from "@/lib/platform/audit.ts";
import { databaseTimeout } from "@/lib/platform/database-timeout.ts";
import { settings } from "@/lib/platform/env.ts";
import { addressGroup, clientIp, compileTrustProxy, UnknownClientAddress, type TrustProxy } from "@/lib/platform/client-address.ts";
import { logger, type Logger } from "@/lib/platform/logger.ts";
import { countOutcome } from "@/lib/platform/metrics.ts";
import { addCorsHeaders } from "@/lib/oauth/pipeline/cors.ts";
import { InvalidRequest, MethodNotAllowed, OAuthError, ServerError, TooManyAttempts, TooManyRequests, UseDpopNonce } from "@/lib/oauth/protocol/errors.ts";
import { startPruning } from "@/lib/oauth/store/retention.ts";
import { startMailSweep } from "@/lib/oauth/endpoints/account/notices.ts";
import { assertWithinBudget, spendBudget } from "@/lib/oauth/defence/request-budget.ts";
import { nonceAfterFailure } from "@/lib/oauth/dpop/proof.ts";
import { errorResponse, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { failedForClientGone } from "@/lib/oauth/store/clients.ts";
import { findWorkspace } from "@/lib/oauth/store/workspaces.ts";
import { failedForUserGone } from "@/lib/oauth/store/users.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

/**
 * The same, without Web objects: what the production server calls (lib/oauth/pipeline/node-adapter.ts).
 * `params` are the route's own path parameters (its `{name}` segments, lib/oauth/routes.ts), decoded.
 */
export type WorkspaceHandler = (request: OAuthRequest, tenant: string, workspace: string, params?: Readonly<Record<string, string>>) => Promise<OAuthResponse>;

/** The methods an endpoint may answer (OPTIONS is answered for it, for CORS). */
export type EndpointMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RouteOptions {
  /** Browsers may call it from the origins the workspace's clients allow (CORS). */
  cors?: boolean;
  /** Every outcome is an audit event (the endpoint names it in `context.audit.event`). */
  audit?: boolean;
  /**
   * What a request is answered when it failed because its user was deleted while it ran (an
   * operator, or the user from another device): a write of it then found no user (a foreign key,
   * a row to update), or it found none to read (`UserGone`): `failedForUserGone`, and the user is
   * gone indeed. Without it, or for any other failure, that is a `server_error`.
   */
  userGone?: (request: OAuthRequest, workspace: Workspace) => OAuthError;
  /**
   * The same for a request whose client was deleted while it ran (or, on another instance, before
   * it: this one's cache still held the client): a write of it then found no client. Without it,
   * that is a `server_error`.
   */
  clientGone?: (request: OAuthRequest, workspace: Workspace) => OAuthError;
  /**
   * A budget of unauthenticated failures of its own, per address group, apart from the one all
   * other routes share. For a route that a server calls for whoever submits its form (the login
   * app's email confirmation: no client authenticates, so every failure counts against the login
   * app's address): junk sent through it must not spend the budget of that server's sign-ins.
   */
  budget?: string;
  /**
   * The endpoint takes DPoP proofs (RFC 9449): with the workspace's nonces on, its failures name
   * the current nonce to a request whose proof did not carry it (nonceAfterFailure). Its successes
   * name it themselves, from the verified proof.
   */
  dpop?: boolean;
}

let trust: { list: string | undefined; fn: TrustProxy } | undefined;
function trustProxy(): TrustProxy {
  const list = settings().TRUST_PROXY;
  if (!trust || trust.list !== list) trust = { list, fn: compileTrustProxy(list) };
  return trust.fn;
}

/**
 * Turns endpoints (functions from a request to a response) into `serve`, the handler the
 * production server calls and Next's route handlers wrap (next-adapter.ts). This is the one place where errors become
 * responses: an `OAuthError` is answered as RFC 6749 §5.2 JSON; anything else is logged with the
 * request id and answered as a bare `server_error`, never with internals. It also answers CORS
 * and writes the audit trail.
 */
export function workspaceHandler(
  endpoints: Partial<Record<EndpointMethod, Endpoint>>,
  options: RouteOptions,
  urlFor: (issuer: string, name: RouteName) => string,
): WorkspaceHandler {
  const allowed = Object.keys(endpoints);
  const serve: WorkspaceHandler = async (request, tenant, slug, params = {}) => {
    const requestId = randomUUID();
    const logs = new RequestLog(requestId);
    const log = () => logs.log;
    const draft: AuditDraft = {};
    let ip = "unknown";
    let workspace: Workspace | undefined;
    let response: OAuthResponse;
    let failure: OAuthError | undefined;
    startPruning();
    startMailSweep();
    try {
      ip = callerAddress(request);
      assertWithinBudget(ip, options.budget);
      workspace = await findWorkspace(tenant, slug);
      if (request.method === "OPTIONS" && options.cors) {
        response = { status: 204, headers: { Allow: allowed.join(", ") }, body: null };
      } else {
        const endpoint = endpoints[request.method as EndpointMethod];
        if (!endpoint) throw new MethodNotAllowed(allowed);
        response = await endpoint(request, new Context(workspace, logs, ip, params, draft, urlFor));
      }
    } catch (err) {
      // A write that found its user or its client gone: deleted while the request ran.
      const gone = workspace && (await goneMeanwhile(err, request, workspace, options, draft));
      if (gone) log().info({ err }, `the request's ${gone.what} was deleted while it ran`);
      failure = asOAuthError(gone ? gone.error : err, log, draft);
      response = errorResponse(failure);
      if (options.dpop && workspace?.dpopNonces && response.headers["DPoP-Nonce"] === undefined) await nameDpopNonce(request, workspace, response, log);
    }
    response.headers["X-Request-Id"] = requestId;
    if (options.cors && workspace) await addCorsHeaders(request, response, workspace, allowed);
    // A refusal for a spent budget costs nothing more: no count, no row, no log line.
    if (failure instanceof TooManyRequests) return response;
    const unauthenticated = failure !== undefined && !draft.accountable && !(failure instanceof ServerError);
    // A nonce asked for (RFC 9449 §8) is a step of the protocol that every public client of a
    // workspace with nonces takes once per window, not junk: the browsers behind one address must
    // not spend its budget by doing what we ask.
    if (unauthenticated && !(failure instanceof UseDpopNonce)) spendBudget(ip, options.budget);
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
      countOutcome(record.event, record.outcome, failure?.error);
      if (unauthenticated) recordUnauthenticatedFailure(record, addressGroup(ip));
      else recordAudit(record);
    }
    return response;
  };
  return serve;
}

/** What a request that failed because its user or its client was deleted meanwhile is answered (RouteOptions). */
async function goneMeanwhile(
  err: unknown,
  request: OAuthRequest,
  workspace: Workspace,
  options: RouteOptions,
  draft: AuditDraft,
): Promise<{ what: string; error: OAuthError } | undefined> {
  if (options.userGone && draft.userId !== undefined && (await failedForUserGone(err, draft.userId))) {
    return { what: "user", error: options.userGone(request, workspace) };
  }
  if (options.clientGone && draft.clientId !== undefined && (await failedForClientGone(err, workspace.id, draft.clientId))) {
    return { what: "client", error: options.clientGone(request, workspace) };
  }
  return undefined;
}

/** A failure's answer names the current DPoP nonce (RouteOptions.dpop); left without it when the nonce's secret cannot be read (the database down). */
async function nameDpopNonce(request: OAuthRequest, workspace: Workspace, response: OAuthResponse, log: () => Logger): Promise<void> {
  try {
    const nonce = await nonceAfterFailure(request, workspace);
    if (nonce !== undefined) response.headers["DPoP-Nonce"] = nonce;
  } catch (err) {
    log().warn({ err }, "no DPoP nonce for a failure's answer: its secret could not be read");
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

/**
 * The request's child logger, made when something is logged: most requests log nothing but
 * their audit line, which carries the request id itself.
 */
class RequestLog {
  #child: Logger | undefined;

  constructor(readonly requestId: string) {}

  get log(): Logger {
    return (this.#child ??= logger.child({ requestId: this.requestId }));
  }
}

/**
 * An endpoint's context. A class, not an object literal: with a literal that had a getter (the
 * lazy logger), everything the context held (the audit draft, the path parameters and what the
 * endpoint put in them) outlived V8's young-generation collections and was promoted, at every
 * request, to wait for a full collection: on JWKS 270 of the 680 bytes it promoted a request
 * (README, Performance).
 */
class Context implements EndpointContext {
  constructor(
    readonly workspace: Workspace,
    private readonly logs: RequestLog,
    readonly ip: string,
    readonly params: Readonly<Record<string, string>>,
    readonly audit: AuditDraft,
    private readonly urls: (issuer: string, name: RouteName) => string,
  ) {}

  get requestId(): string {
    return this.logs.requestId;
  }

  get log(): Logger {
    return this.logs.log;
  }

  // Its own property, not a method: endpoints take it out of the context (`{ urlFor }`).
  readonly urlFor = (name: RouteName): string => this.urls(this.workspace.issuer, name);
}

function asOAuthError(err: unknown, log: () => Logger, draft: AuditDraft): OAuthError {
  if (err instanceof OAuthError) {
    // Unauthenticated junk is counted, not logged a line each (see recordUnauthenticatedFailure).
    const level = !draft.accountable || err instanceof TooManyRequests ? "debug" : "info";
    log()[level]({ event: "request.refused", error: err.error, status: err.status, reason: err.detail ?? err.description }, "request refused");
    return err;
  }
  const wait = databaseTimeout(err);
  if (wait) log().error({ event: "db.timeout", wait, err }, "the database kept the request waiting past DATABASE_TIMEOUT_SECONDS");
  else log().error({ err }, "unexpected error");
  return new ServerError(messageOf(err));
}
