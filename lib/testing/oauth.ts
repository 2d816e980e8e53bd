import { db } from "@/lib/platform/db.ts";
import { hashClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { expect } from "vitest";
import { matchRoute, routes } from "@/lib/oauth/routes.ts";
import { METHODS, type Method } from "@/lib/oauth/pipeline/next-adapter.ts";
import type { WorkspaceRoute } from "@/lib/oauth/routes.ts";

export const ISSUER = "http://localhost:3000/demo/default";
export const TOKEN_URL = `${ISSUER}/oauth2/token`;
export const FORM = { "Content-Type": "application/x-www-form-urlencoded" };

export function routeContext(tenant = "demo", workspace = "default", params: Record<string, string> = {}) {
  return { params: Promise.resolve({ ...params, tenant, workspace }) };
}

/** `Authorization: Basic` as RFC 6749 §2.3.1 builds it: each part form-urlencoded first. */
export function basic(clientId: string, secret: string): string {
  const enc = (s: string) => new URLSearchParams({ s }).toString().slice(2);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString("base64")}`;
}

export function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export interface Call {
  method?: string;
  body?: string | Record<string, string>;
  headers?: Record<string, string>;
  tenant?: string;
  workspace?: string;
  /** The route's own path parameters (`{ id }`), as Next passes them: decoded. */
  params?: Record<string, string>;
}

/** Calls a route handler in-process with a real `Request`, as Next would. */
export function call(route: WorkspaceRoute, url: string, c: Call = {}): Promise<Response> {
  const method = c.method ?? (c.body === undefined ? "GET" : "POST");
  const body = typeof c.body === "object" ? form(c.body) : c.body;
  const headers = c.body === undefined ? c.headers : { ...FORM, ...c.headers };
  if (!METHODS.includes(method as Method)) throw new Error(`no ${method} handler`);
  const fn = route[method as Method];
  return fn(new Request(url, { method, body, headers }), routeContext(c.tenant, c.workspace, c.params));
}

export const postToken = (body: string | Record<string, string>, headers: Record<string, string> = {}, c: Omit<Call, "body" | "headers"> = {}) =>
  call(routes.token, TOKEN_URL, { ...c, body, headers });

export const getDiscovery = (c: Call = {}) => call(routes.discovery, `${ISSUER}/.well-known/openid-configuration`, c);
export const getJwks = (c: Call = {}) => call(routes.jwks, `${ISSUER}/.well-known/jwks.json`, c);

/**
 * `fetch` answered in-process by the real route handlers, found by path through the routes table
 * as the production server finds them: what a client library is given as its `customFetch`.
 */
export const inProcessFetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const request = new Request(input, init);
  const match = matchRoute(new URL(request.url).pathname);
  if (!match) return new Response("not found", { status: 404 });
  const method = request.method as Method;
  const decoded = Object.fromEntries(Object.entries(match.params).map(([name, raw]) => [name, decodeURIComponent(raw)]));
  return routes[match.name][method](request, routeContext(decodeURIComponent(match.tenant), decodeURIComponent(match.workspace), decoded));
}) as typeof fetch;

export const ALICE = { username: "alice", password: "alice-password-1" };
export const SPA = { client_id: "demo-spa" };

export const postRevoke = (body: string | Record<string, string>, headers: Record<string, string> = {}) =>
  call(routes.revocation, `${ISSUER}/oauth2/revoke`, { body, headers });
export const postIntrospect = (body: string | Record<string, string>, headers: Record<string, string> = {}) =>
  call(routes.introspection, `${ISSUER}/oauth2/introspect`, { body, headers });
export const callUserinfo = (c: Call = {}) => call(routes.userinfo, `${ISSUER}/userinfo`, c);

export const BACKEND_BASIC = { Authorization: basic("demo-backend", "demo-backend-secret") };
export const SERVICE_BASIC = { Authorization: basic("demo-service", "demo-service-secret") };

export interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token?: string;
  scope: string;
  expires_in: number;
}

/** Signs alice (or another user) in through the password grant; fails the test on an error. */
export async function signIn(fields: Record<string, string> = { ...SPA, ...ALICE }, headers: Record<string, string> = {}): Promise<Tokens> {
  const res = await postToken({ grant_type: "password", ...fields }, headers);
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Tokens;
}

/** The introspection of a token as demo-backend sees it. */
export async function introspect(token: string, hint?: string): Promise<Record<string, unknown>> {
  const res = await postIntrospect({ token, ...(hint ? { token_type_hint: hint } : {}) }, BACKEND_BASIC);
  if (res.status !== 200) throw new Error(`introspection failed: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** A client of the demo workspace for one test (a Basic password-grant client unless told otherwise). */
export async function addClient(
  clientId: string,
  fields: Partial<{
    secret: string;
    authMethods: string;
    grantTypes: string;
    scopes: string;
    audiences: string;
    accessTokenTtl: number;
    idTokenTtl: number;
    defaultScopes: string;
    idTokenSignedResponseAlg: string;
    type: string;
    forwardsEndUserIp: boolean;
    passwordResetUri: string;
  }>,
) {
  const { secret, ...rest } = fields;
  await db().client.create({
    data: {
      workspaceId: (await db().workspace.findFirstOrThrow({ where: { slug: "default", tenant: { slug: "demo" } } })).id,
      clientId,
      name: clientId,
      secretHash: secret ? hashClientSecret(secret) : null,
      authMethods: "client_secret_basic",
      grantTypes: "password",
      scopes: "openid profile email",
      ...rest,
    },
  });
}

/** RFC 6749 §5.1: token responses, errors too, are JSON that no cache may keep. */
export function expectNoStore(res: Response) {
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("pragma")).toBe("no-cache");
  expect(res.headers.get("content-type")).toBe("application/json;charset=UTF-8");
}
