import { TtlCache } from "@/lib/cache.ts";
import { addressGroup, normalizeAddress } from "@/lib/http/client-ip.ts";
import { admitAttempt, clientAttemptHistory } from "@/lib/oauth/brute-force.ts";
import { db } from "@/lib/db.ts";
import { settings } from "@/lib/env.ts";
import { verifyClientSecret } from "@/lib/oauth/client-secrets.ts";
import { assertOriginAllowed } from "@/lib/oauth/cors.ts";
import { InvalidClient, InvalidRequest } from "@/lib/oauth/errors.ts";
import { decodeFormComponent, type FormParams, type OAuthRequest } from "@/lib/oauth/http.ts";
import { splitList } from "@/lib/oauth/scopes.ts";
import type { Workspace } from "@/lib/oauth/workspace.ts";

export const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** What the request presents to identify its client, before any lookup. */
export interface PresentedClient {
  method: AuthMethod;
  clientId: string;
  secret?: string;
}

/** A client that has proven who it is (or, for a public client, named itself). */
export interface Client {
  id: string;
  clientId: string;
  /** The method it authenticated with on this request. */
  authMethod: AuthMethod;
  confidential: boolean;
  grantTypes: ReadonlySet<string>;
  scopes: ReadonlySet<string>;
  defaultScopes: readonly string[] | null;
  audiences: readonly string[];
  accessTokenTtl: number | null;
  idTokenTtl: number | null;
  refreshTokenTtl: number | null;
  sessionTtl: number | null;
  allowedOrigins: readonly string[];
  /** May pass its end user's address in END_USER_IP_HEADER. */
  forwardsEndUserIp: boolean;
}

/** Where a trusted server-side client puts its end user's address (cf. Auth0's auth0-forwarded-for). */
export const END_USER_IP_HEADER = "ropc-forwarded-for";
/** Where the same clients put their end user's browser's User-Agent, for the audit trail. */
export const END_USER_AGENT_HEADER = "ropc-forwarded-user-agent";

const MAX_CLIENT_ID = 255;
const MAX_SECRET = 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Which client authentication the request uses (RFC 6749 §2.3): HTTP Basic, `client_id` and
 * `client_secret` in the body, or `client_id` alone for a public client. Exactly one method:
 * Basic together with a body secret is `invalid_request`.
 */
export function presentedClient(authorization: string | null, params: FormParams, realm: string): PresentedClient {
  const bodyId = params.get("client_id");
  const bodySecret = params.get("client_secret");
  if (authorization !== null) {
    const basic = parseBasic(authorization, realm);
    if (bodySecret !== undefined) throw new InvalidRequest("use one client authentication method, not two");
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw new InvalidRequest("client_id does not match the Authorization header");
    }
    return { method: "client_secret_basic", ...basic };
  }
  if (bodyId === undefined) throw new InvalidClient("client authentication is required");
  if (bodyId.length > MAX_CLIENT_ID) throw new InvalidClient("client authentication failed", { detail: "client_id too long" });
  if (bodySecret === undefined) return { method: "none", clientId: bodyId };
  if (bodySecret.length > MAX_SECRET) throw new InvalidClient("client authentication failed", { detail: "secret too long" });
  return { method: "client_secret_post", clientId: bodyId, secret: bodySecret };
}

/**
 * RFC 6749 §2.3.1 and RFC 7617: `Basic base64(urlencode(id) ":" urlencode(secret))`, so that ids
 * and secrets may contain `:`, `+` and `%`.
 */
export function parseBasic(header: string, realm: string): { clientId: string; secret: string } {
  const fail = (detail: string) =>
    new InvalidClient("client authentication failed", { detail, headers: { "WWW-Authenticate": `Basic realm="${realm}"` } });
  const [scheme, token, ...rest] = header.trim().split(/\s+/);
  if (scheme?.toLowerCase() !== "basic" || !token || rest.length > 0) throw fail("unsupported Authorization header");
  if (token.length > 4 * MAX_SECRET || !BASE64.test(token)) throw fail("Basic credentials are not base64");
  let decoded: string;
  try {
    decoded = utf8.decode(Buffer.from(token, "base64"));
  } catch {
    throw fail("Basic credentials are not UTF-8");
  }
  const colon = decoded.indexOf(":");
  if (colon === -1) throw fail("Basic credentials have no colon");
  let clientId: string;
  let secret: string;
  try {
    clientId = decodeFormComponent(decoded.slice(0, colon));
    secret = decodeFormComponent(decoded.slice(colon + 1));
  } catch {
    throw fail("Basic credentials are not form-encoded");
  }
  if (clientId === "" || clientId.length > MAX_CLIENT_ID) throw fail("bad client_id in Basic credentials");
  if (secret === "" || secret.length > MAX_SECRET) throw fail("bad secret in Basic credentials");
  return { clientId, secret };
}

type ClientRow = Awaited<ReturnType<typeof loadClient>>;

function loadClient(workspaceId: string, clientId: string) {
  return db().client.findUnique({ where: { workspaceId_clientId: { workspaceId, clientId } } });
}

// Client settings, cached per process for CONFIG_CACHE_SECONDS: a client disabled or changed
// through the CLI takes effect everywhere within that bound.
const clients = new TtlCache<ClientRow>(() => settings().CONFIG_CACHE_SECONDS * 1000);

/** The client row of `clientId` in a workspace (cached), or null. */
export function findClient(workspaceId: string, clientId: string): Promise<ClientRow> {
  return clients.get(`${workspaceId} ${clientId}`, () => loadClient(workspaceId, clientId));
}

/** Forget cached client settings (tests, and after the CLI changes a client in-process). */
export function clearClientCache(): void {
  clients.clear();
}

/**
 * Authenticates the client of a request to an endpoint of `workspace`. Any failure is
 * `invalid_client` (401; with `WWW-Authenticate` when Basic was tried): unknown client, disabled
 * client, a method it did not register, a missing or wrong secret. Wrong secrets are counted
 * like wrong passwords, per (client, address) and per address of `callerIp` (brute-force.ts):
 * past the limits the caller gets 429 without the secret being checked. A browser request from
 * an origin the client does not allow is then refused (403).
 */
export async function authenticateClient(req: OAuthRequest, params: FormParams, workspace: Workspace, callerIp: string): Promise<Client> {
  const presented = presentedClient(req.headers.get("authorization"), params, workspace.issuer);
  const fail = (detail: string) =>
    new InvalidClient("client authentication failed", {
      detail,
      headers: presented.method === "client_secret_basic" ? { "WWW-Authenticate": `Basic realm="${workspace.issuer}"` } : {},
    });
  const row = await findClient(workspace.id, presented.clientId);
  if (!row || row.disabled) throw fail(row ? "client disabled" : "unknown client");
  const methods = splitList(row.authMethods);
  if (!methods.includes(presented.method)) throw fail(`client did not register ${presented.method}`);
  if (presented.method !== "none") {
    const address = addressGroup(callerIp);
    const attempt = admitAttempt({ workspaceId: workspace.id, kind: "client", name: row.clientId, ip: address }, await clientAttemptHistory(workspace.id, address));
    if (!row.secretHash || !verifyClientSecret(row.secretHash, presented.secret ?? "")) {
      await attempt.failed();
      throw fail("wrong client secret");
    }
    await attempt.succeeded();
  }
  const allowedOrigins = splitList(row.allowedOrigins);
  assertOriginAllowed(req, allowedOrigins);
  return {
    id: row.id,
    clientId: row.clientId,
    authMethod: presented.method,
    confidential: row.secretHash !== null,
    grantTypes: new Set(splitList(row.grantTypes)),
    scopes: new Set(splitList(row.scopes)),
    defaultScopes: row.defaultScopes === null ? null : splitList(row.defaultScopes),
    audiences: splitList(row.audiences),
    accessTokenTtl: row.accessTokenTtl,
    idTokenTtl: row.idTokenTtl,
    refreshTokenTtl: row.refreshTokenTtl,
    sessionTtl: row.sessionTtl,
    allowedOrigins,
    forwardsEndUserIp: row.forwardsEndUserIp,
  };
}

/**
 * The address a password attempt is counted against: the end user's as passed by a confidential
 * client trusted for it (after it authenticated), else the caller's own. Anyone else's header,
 * and anything that is not an IP address, is ignored.
 */
export function endUserIp(request: OAuthRequest, client: Client, callerIp: string): string {
  if (!forwardsForEndUser(client)) return callerIp;
  const forwarded = normalizeAddress(request.headers.get(END_USER_IP_HEADER) ?? "");
  return forwarded ?? callerIp;
}

/** The end user's User-Agent as a client trusted for it passes it; else the request's own. */
export function endUserAgent(request: OAuthRequest, client: Client): string | undefined {
  const forwarded = forwardsForEndUser(client) ? request.headers.get(END_USER_AGENT_HEADER) : null;
  return forwarded || request.headers.get("user-agent") || undefined;
}

function forwardsForEndUser(client: Client): boolean {
  return client.forwardsEndUserIp && client.confidential && client.authMethod !== "none";
}
