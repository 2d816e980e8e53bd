import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { SECURITY_HEADERS } from "@/lib/http/security-headers.mjs";
import type { RouteHandler } from "@/lib/oauth/route.ts";
import { discoveryRoute, introspectionRoute, jwksRoute, revocationRoute, tokenRoute, userinfoRoute } from "@/lib/oauth/routes.ts";

type Routes = Record<string, RouteHandler>;

// The authorization server's paths, as app/[tenant]/[workspace]/... declares them.
const ROUTES: Array<[RegExp, Routes]> = [
  [/^\/([^/]+)\/([^/]+)\/oauth2\/token$/, tokenRoute],
  [/^\/([^/]+)\/([^/]+)\/oauth2\/revoke$/, revocationRoute],
  [/^\/([^/]+)\/([^/]+)\/oauth2\/introspect$/, introspectionRoute],
  [/^\/([^/]+)\/([^/]+)\/userinfo$/, userinfoRoute],
  [/^\/([^/]+)\/([^/]+)\/\.well-known\/openid-configuration$/, discoveryRoute],
  [/^\/([^/]+)\/([^/]+)\/\.well-known\/jwks\.json$/, jwksRoute],
];

const SECURITY: Array<[string, string]> = SECURITY_HEADERS.map(({ key, value }) => [key, value]);

/**
 * The production server answers the authorization server's paths itself, with the very handlers
 * that the app/ route files re-export (Request in, Response out), instead of passing them through
 * Next's router: that costs Next about 1.5 ms of CPU per request, which the benchmark counts
 * against the password grant. Returns false for any other path (Next's).
 */
export function serveOAuth(req: IncomingMessage, res: ServerResponse): boolean {
  const pathname = (req.url ?? "/").split("?", 1)[0] ?? "/";
  for (const [pattern, routes] of ROUTES) {
    const match = pattern.exec(pathname);
    if (!match) continue;
    void respond(req, res, routes, decodeURIComponent(match[1] ?? ""), decodeURIComponent(match[2] ?? "")).catch(() => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store" });
      res.end(JSON.stringify({ error: "server_error" }));
    });
    return true;
  }
  return false;
}

async function respond(req: IncomingMessage, res: ServerResponse, routes: Routes, tenant: string, workspace: string): Promise<void> {
  const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
  const handler = routes[method] ?? routes.POST!;
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const hasBody = method !== "GET" && method !== "HEAD";
  const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    duplex: "half",
  } as RequestInit);
  const response = await handler(request, { params: Promise.resolve({ tenant, workspace }) });
  const out: Array<[string, string]> = SECURITY.filter(([name]) => !response.headers.has(name));
  response.headers.forEach((value, name) => out.push([name, value]));
  res.writeHead(response.status, out.flat());
  if (req.method === "HEAD" || !response.body) return void res.end();
  res.end(Buffer.from(await response.arrayBuffer()));
}
