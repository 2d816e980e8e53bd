import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Settings } from "@/lib/platform/env.ts";
import type { Logger } from "@/lib/platform/logger.ts";
import { bearerMatches, collectNodeMetrics, metricsText } from "@/lib/platform/metrics.ts";
import { liveness, readiness, type HealthResponse } from "@/lib/operations/health.ts";
import { JSON_CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from "@/lib/platform/security-headers.mjs";

export type OperationsSettings = Pick<Settings, "METRICS_PORT" | "METRICS_TOKEN">;

const JSON_HEADERS = { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store" } as const;

/** The headers of every response of the app (lib/platform/security-headers.mjs), and JSON's CSP. */
function withSecurityHeaders(headers: Record<string, string>): Record<string, string> {
  const all: Record<string, string> = Object.fromEntries(SECURITY_HEADERS.map(({ key, value }) => [key, value]));
  if (headers["Content-Type"]?.startsWith("application/json")) all["Content-Security-Policy"] = JSON_CONTENT_SECURITY_POLICY;
  return Object.assign(all, headers);
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  { status, headers, body }: HealthResponse | { status: number; headers: Record<string, string>; body: string },
): void {
  res.writeHead(status, withSecurityHeaders({ ...headers, "Content-Length": String(Buffer.byteLength(body)) }));
  res.end(req.method === "HEAD" ? undefined : body);
}

function methodNotAllowed(req: IncomingMessage, res: ServerResponse): void {
  send(req, res, { status: 405, headers: { ...JSON_HEADERS, Allow: "GET, HEAD" }, body: JSON.stringify({ error: "method_not_allowed" }) });
}

async function answerMetrics(req: IncomingMessage, res: ServerResponse, token: string | undefined): Promise<void> {
  if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
    return send(req, res, {
      status: 401,
      headers: { ...JSON_HEADERS, "WWW-Authenticate": 'Bearer realm="metrics"' },
      body: JSON.stringify({ error: "unauthorized" }),
    });
  }
  const { contentType, body } = await metricsText();
  send(req, res, { status: 200, headers: { "Content-Type": contentType, "Cache-Control": "no-store" }, body });
}

function fail(res: ServerResponse, log: Logger) {
  return (err: unknown) => {
    log.error({ err }, "operations endpoint failed");
    if (!res.headersSent) res.writeHead(500, withSecurityHeaders(JSON_HEADERS));
    res.end(JSON.stringify({ error: "server_error" }));
  };
}

/**
 * The production server's operations paths, answered before the authorization server and Next:
 * /healthz, /readyz, and /metrics when METRICS_TOKEN is set (never public: without a token it is
 * Next's 404; with one, Node's metrics are collected from here on). False for any other path.
 */
export function operationsHandler(settings: OperationsSettings, log: Logger): (req: IncomingMessage, res: ServerResponse) => boolean {
  if (settings.METRICS_TOKEN) collectNodeMetrics();
  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/healthz" && path !== "/readyz" && !(path === "/metrics" && settings.METRICS_TOKEN)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      methodNotAllowed(req, res);
      return true;
    }
    if (path === "/healthz") send(req, res, liveness());
    else if (path === "/readyz") readiness().then((answer) => send(req, res, answer), fail(res, log));
    else answerMetrics(req, res, settings.METRICS_TOKEN).catch(fail(res, log));
    return true;
  };
}

/**
 * The metrics on their own port (METRICS_PORT): /metrics only, behind METRICS_TOKEN too when it is
 * set. Node's metrics are collected from here on.
 */
export function createMetricsServer(settings: OperationsSettings, log: Logger): Server {
  collectNodeMetrics();
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/metrics") return send(req, res, { status: 404, headers: JSON_HEADERS, body: JSON.stringify({ error: "not_found" }) });
    if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(req, res);
    answerMetrics(req, res, settings.METRICS_TOKEN).catch(fail(res, log));
  });
}

/**
 * Where the metrics are served, in a line for the start-up log: a warning when their own port
 * answers anyone who reaches `hostname` (the listening address) without a token.
 */
export function metricsExposure(settings: OperationsSettings, hostname: string): { level: "info" | "warn"; message: string } {
  const open = settings.METRICS_PORT !== undefined && !settings.METRICS_TOKEN && !["localhost", "127.0.0.1", "::1"].includes(hostname);
  const where = [
    ...(settings.METRICS_PORT
      ? [
          `on port ${settings.METRICS_PORT}${settings.METRICS_TOKEN ? " (bearer token)" : open ? ` of ${hostname === "0.0.0.0" ? "every interface" : hostname} (HOSTNAME) to anyone who reaches it, without a token: keep that port off the public network, or set METRICS_TOKEN` : ""}`,
        ]
      : []),
    ...(settings.METRICS_TOKEN ? ["at /metrics behind METRICS_TOKEN"] : []),
  ];
  return {
    level: open ? "warn" : "info",
    message: where.length > 0 ? `metrics: served ${where.join(" and ")}` : "metrics: not served (set METRICS_PORT or METRICS_TOKEN to serve them)",
  };
}
