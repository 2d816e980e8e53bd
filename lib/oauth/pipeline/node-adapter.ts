import type { IncomingMessage, ServerResponse } from "node:http";
import { settings } from "@/lib/platform/env.ts";
import { securityHeaders } from "@/lib/platform/security-headers.mjs";
import { RESPONSE_INFO, type TaggedResponse } from "@/lib/platform/http-server.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";
import type { WorkspaceHandler } from "@/lib/oauth/pipeline/workspace-route.ts";
import { matchRoute, routes, type RouteMatch } from "@/lib/oauth/routes.ts";
import { percentDecoded } from "@/lib/platform/percent-decoding.ts";

// Read at the first request: APP_URL (https or not) is a run-time setting.
let security: Array<[string, string]> | undefined;
function securityHeaderPairs(): Array<[string, string]> {
  return (security ??= securityHeaders(settings().APP_URL).map(({ key, value }): [string, string] => [key, value]));
}

/**
 * The production server answers the authorization server's paths itself, with the handlers that
 * the app/ route files' handlers share (lib/oauth/pipeline/workspace-route.ts), instead of passing them through
 * Next's router and Web Request/Response objects: together those cost about 2 ms of CPU per
 * request, which the benchmark counts against the password grant. Returns false for any other
 * path (Next's).
 */
export function serveOAuth(req: IncomingMessage, res: ServerResponse): boolean {
  const pathname = (req.url ?? "/").split("?", 1)[0] ?? "/";
  // The authorization server's paths, every one of each route, from the one table (lib/oauth/routes.ts).
  const match = matchRoute(pathname);
  if (!match) return false;
  void respond(req, res, routes[match.name].serve, match).catch(() => {
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store" });
    res.end(JSON.stringify({ error: "server_error" }));
  });
  return true;
}

/** Node's request as the endpoints read it: header lookup by name, the body as it arrives. */
function oauthRequest(req: IncomingMessage, method: string): OAuthRequest {
  return {
    method,
    head: req.method === "HEAD",
    url: req.url ?? "/",
    headers: {
      get(name: string): string | null {
        const value = req.headers[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value) ? value.join(", ") : value;
      },
    },
    body: method === "GET" || method === "HEAD" ? null : { readUpTo: (limit) => readUpTo(req, limit) },
  };
}

/**
 * The request's body, read by Node's events: a stream's async iterator costs a generator, its
 * end-of-stream watch and promises per chunk, several times this for a form of a few hundred
 * bytes (every token request has one). Past `limit` it stops reading and answers null, leaving
 * the upload unread rather than destroying the socket under the answer; `respond` then closes
 * the connection after answering.
 */
export function readUpTo(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  // Read already (no endpoint reads a body twice): nothing is left of it.
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  // The client went away before the endpoint came to read it (its events are past).
  if (req.destroyed) return Promise.reject(new Error("the request closed before its body was read"));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      stop();
      req.pause();
      resolve(null);
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      stop();
      reject(err);
    };
    // Closed before its end: the client went away mid-upload.
    const onClose = () => onError(new Error("the request closed before its body ended"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/** A decoded path segment; malformed escapes are kept as they are (no workspace has such a name). */
const pathSegment = (raw: string): string => percentDecoded(raw) ?? raw;

async function respond(
  req: IncomingMessage,
  res: TaggedResponse,
  serve: WorkspaceHandler,
  { name: route, tenant, workspace, params }: RouteMatch,
): Promise<void> {
  const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
  const own = Object.fromEntries(Object.entries(params).map(([name, raw]) => [name, pathSegment(raw)]));
  const response = await serve(oauthRequest(req, method), pathSegment(tenant), pathSegment(workspace), own);
  // For the access log (lib/platform/http-server.ts).
  res[RESPONSE_INFO] = { requestId: response.headers["X-Request-Id"] ?? "", route };
  // Node's flat form, [name, value, name, value, …]: the security headers the endpoint did not set itself, then its own.
  const names = new Set(Object.keys(response.headers).map((name) => name.toLowerCase()));
  const headers: string[] = [];
  for (const [name, value] of securityHeaderPairs()) if (!names.has(name.toLowerCase())) headers.push(name, value);
  for (const [name, value] of Object.entries(response.headers)) headers.push(name, value);
  if (response.body !== null) headers.push("Content-Length", String(Buffer.byteLength(response.body)));
  // Answered before the whole request arrived (a refused upload): the rest is not read.
  if (!req.complete) headers.push("Connection", "close");
  res.writeHead(response.status, headers);
  res.end(req.method === "HEAD" || response.body === null ? undefined : response.body);
}
