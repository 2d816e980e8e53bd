import { discovery, jwks } from "@/lib/oauth/endpoints/discovery.ts";
import { introspectionEndpoint } from "@/lib/oauth/endpoints/introspection.ts";
import { revocationEndpoint } from "@/lib/oauth/endpoints/revocation.ts";
import { grantUserGone, tokenEndpoint } from "@/lib/oauth/endpoints/token.ts";
import { clientGone } from "@/lib/oauth/client-auth/authenticate.ts";
import { userinfoEndpoint } from "@/lib/oauth/endpoints/userinfo.ts";
import { brandingEndpoint } from "@/lib/oauth/endpoints/branding.ts";
import { registrationEndpoint, registrationManagementEndpoint } from "@/lib/oauth/endpoints/registration.ts";
import { mfaUserGone } from "@/lib/oauth/endpoints/mfa/caller.ts";
import { accessTokenUserGone } from "@/lib/oauth/endpoints/access-token-caller.ts";
import { mfaAssociateEndpoint } from "@/lib/oauth/endpoints/mfa/associate.ts";
import { mfaAuthenticatorsEndpoint } from "@/lib/oauth/endpoints/mfa/authenticators.ts";
import { mfaConfirmEndpoint } from "@/lib/oauth/endpoints/mfa/confirm.ts";
import { mfaRecoveryCodesEndpoint } from "@/lib/oauth/endpoints/mfa/recovery-codes.ts";
import { mfaRemoveEndpoint } from "@/lib/oauth/endpoints/mfa/remove.ts";
import { accountActivityEndpoint } from "@/lib/oauth/endpoints/account/activity.ts";
import { accountPasswordEndpoint } from "@/lib/oauth/endpoints/account/password.ts";
import { accountOtherSessionsEndpoint, accountSessionEndpoint, accountSessionsEndpoint } from "@/lib/oauth/endpoints/account/sessions.ts";
import { emailVerifyEndpoint, profileEndpoint, profileUpdateEndpoint } from "@/lib/oauth/endpoints/account/profile.ts";
import { passwordResetCompleteEndpoint, passwordResetEndpoint } from "@/lib/oauth/endpoints/account/password-reset.ts";
import type { Endpoint, RouteName } from "@/lib/oauth/endpoints/context.ts";
import { nextHandlers, type NextHandlers } from "@/lib/oauth/pipeline/next-adapter.ts";
import { workspaceHandler, type EndpointMethod, type RouteOptions, type WorkspaceHandler } from "@/lib/oauth/pipeline/workspace-route.ts";
import { observeRequest } from "@/lib/platform/metrics.ts";
import { inSpan, SpanKind, SpanStatusCode, tracing } from "@/lib/platform/tracing.ts";
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from "@opentelemetry/semantic-conventions";

/** One endpoint of a workspace: where it lives under the issuer, what answers each method, how. */
export interface RouteSpec {
  /** Under the issuer; a `{name}` segment is a path parameter, given to the endpoint as `context.params.name`. */
  path: `/${string}`;
  /**
   * Well-known names (RFC 8615) under which the same endpoint is also served the way RFC 8414 §3.1
   * builds the URL for an issuer with a path: `/.well-known/{name}/{tenant}/{workspace}`.
   */
  wellKnown?: readonly string[];
  methods: Partial<Record<EndpointMethod, Endpoint>>;
  options: RouteOptions;
}

/**
 * THE table of the authorization server's endpoints, under each workspace's issuer
 * (`/{tenant}/{workspace}`). The app/ route files re-export `routes[name]` (a test checks that
 * each one exists at its path), the production server matches paths from it
 * (pipeline/node-adapter.ts), and discovery builds its URLs from it (`context.urlFor`).
 */
export const ROUTE_TABLE: Readonly<Record<RouteName, RouteSpec>> = {
  token: { path: "/oauth2/token", methods: { POST: tokenEndpoint }, options: { cors: true, audit: true, userGone: grantUserGone, clientGone, dpop: true } },
  revocation: { path: "/oauth2/revoke", methods: { POST: revocationEndpoint }, options: { cors: true, audit: true } },
  introspection: { path: "/oauth2/introspect", methods: { POST: introspectionEndpoint }, options: { cors: true } },
  // RFC 7591 registration (POST) and RFC 7592 management of a registered client (its registration_client_uri: `?client_id=`).
  registration: {
    path: "/oauth2/register",
    methods: { POST: registrationEndpoint, GET: registrationManagementEndpoint, PUT: registrationManagementEndpoint, DELETE: registrationManagementEndpoint },
    options: { audit: true, dpop: true },
  },
  userinfo: { path: "/userinfo", methods: { GET: userinfoEndpoint, POST: userinfoEndpoint }, options: { cors: true, dpop: true } },
  discovery: {
    path: "/.well-known/openid-configuration",
    wellKnown: ["oauth-authorization-server", "openid-configuration"],
    methods: { GET: discovery },
    options: {},
  },
  jwks: { path: "/.well-known/jwks.json", methods: { GET: jwks }, options: {} },
  // What the sign-in pages show for this workspace (name, logo, accent colour, links).
  branding: { path: "/branding", methods: { GET: brandingEndpoint }, options: {} },
  // Multi-factor authentication (Auth0's MFA API shape where it has one).
  mfaAuthenticators: { path: "/mfa/authenticators", methods: { GET: mfaAuthenticatorsEndpoint }, options: { cors: true, userGone: mfaUserGone, dpop: true } },
  mfaAssociate: { path: "/mfa/associate", methods: { POST: mfaAssociateEndpoint }, options: { cors: true, audit: true, userGone: mfaUserGone, dpop: true } },
  mfaConfirm: { path: "/mfa/confirm", methods: { POST: mfaConfirmEndpoint }, options: { cors: true, audit: true, userGone: mfaUserGone, dpop: true } },
  mfaRemove: { path: "/mfa/remove", methods: { POST: mfaRemoveEndpoint }, options: { cors: true, audit: true, userGone: mfaUserGone, dpop: true } },
  mfaRecoveryCodes: {
    path: "/mfa/recovery-codes",
    methods: { POST: mfaRecoveryCodesEndpoint },
    options: { cors: true, audit: true, userGone: mfaUserGone, dpop: true },
  },
  // The account API: a signed-in user's own sessions, password and activity (scope `account`).
  accountSessions: {
    path: "/account/sessions",
    methods: { GET: accountSessionsEndpoint, DELETE: accountOtherSessionsEndpoint },
    options: { cors: true, audit: true, userGone: accessTokenUserGone, dpop: true },
  },
  accountSession: {
    path: "/account/sessions/{id}",
    methods: { DELETE: accountSessionEndpoint },
    options: { cors: true, audit: true, userGone: accessTokenUserGone, dpop: true },
  },
  accountPassword: {
    path: "/account/password",
    methods: { POST: accountPasswordEndpoint },
    options: { cors: true, audit: true, userGone: accessTokenUserGone, dpop: true },
  },
  accountActivity: { path: "/account/activity", methods: { GET: accountActivityEndpoint }, options: { cors: true, userGone: accessTokenUserGone, dpop: true } },
  // The account API: the profile (a user's access token with the account scope), confirming a
  // new address (the mailed link's token), password recovery (a confidential client).
  accountProfile: {
    path: "/account/profile",
    methods: { GET: profileEndpoint, PATCH: profileUpdateEndpoint },
    options: { cors: true, audit: true, userGone: accessTokenUserGone, dpop: true },
  },
  // Its own request budget: the login app posts its links' tokens for whoever submits its form.
  accountEmailVerify: { path: "/account/email/verify", methods: { POST: emailVerifyEndpoint }, options: { cors: true, audit: true, budget: "email-verify" } },
  passwordReset: { path: "/account/password-reset", methods: { POST: passwordResetEndpoint }, options: { cors: true, audit: true } },
  passwordResetComplete: { path: "/account/password-reset/complete", methods: { POST: passwordResetCompleteEndpoint }, options: { cors: true, audit: true } },
};

/**
 * Every path a route answers at, `{tenant}` and `{workspace}` standing for the issuer's path:
 * under the issuer, then its RFC 8414 §3.1 well-known forms. app/ has a route file at each (a
 * test checks) and the production server matches them (pipeline/node-adapter.ts).
 */
export function routePaths(spec: RouteSpec): string[] {
  return [`/{tenant}/{workspace}${spec.path}`, ...(spec.wellKnown ?? []).map((name) => `/.well-known/${name}/{tenant}/{workspace}`)];
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A path parameter of the table: `{tenant}`, `{workspace}`, or one of a route's own (`{id}`), one whole segment each. */
const PARAMETER = /\{([a-z][A-Za-z0-9]*)\}/;

/** A path of the table as a pattern whose named groups are its parameters: the tenant, the workspace and the route's own. */
function pathPattern(path: string): RegExp {
  const source = path
    .split(new RegExp(`(${PARAMETER.source})`))
    .map((part, i, parts) => (i % 3 === 1 ? `(?<${parts[i + 1]}>[^/]+)` : i % 3 === 2 ? "" : escape(part)))
    .join("");
  return new RegExp(`^${source}$`);
}

const PATTERNS: ReadonlyArray<[RegExp, RouteName]> = (Object.keys(ROUTE_TABLE) as RouteName[]).flatMap((name) =>
  routePaths(ROUTE_TABLE[name]).map((path): [RegExp, RouteName] => [pathPattern(path), name]),
);

export interface RouteMatch {
  name: RouteName;
  /** The raw (undecoded) segments of the issuer's path. */
  tenant: string;
  workspace: string;
  /** The route's own path parameters, raw (undecoded). */
  params: Record<string, string>;
}

/** The route a request path (undecoded, without the query) belongs to, with its raw parameter segments. */
export function matchRoute(pathname: string): RouteMatch | undefined {
  for (const [pattern, name] of PATTERNS) {
    const groups = pattern.exec(pathname)?.groups;
    if (groups) {
      const { tenant = "", workspace = "", ...params } = groups;
      return { name, tenant, workspace, params };
    }
  }
  return undefined;
}

const urlFor = (issuer: string, name: RouteName) => `${issuer}${ROUTE_TABLE[name].path}`;

/** A route's Next handlers, one per method, and the handler they share. */
export type WorkspaceRoute = NextHandlers & { serve: WorkspaceHandler };

/**
 * `serve`, with its time and status observed under the route's name (never the raw path), and,
 * when traces are exported, inside a span of that name: the request's database work and password
 * hashing are its children (lib/platform/tracing.ts).
 */
function measured(name: RouteName, serve: WorkspaceHandler): WorkspaceHandler {
  const template = `/{tenant}/{workspace}${ROUTE_TABLE[name].path}`;
  const observed: WorkspaceHandler = async (request, tenant, workspace, params) => {
    const started = performance.now();
    const response = await serve(request, tenant, workspace, params);
    observeRequest(name, response.status, (performance.now() - started) / 1000);
    return response;
  };
  return (request, tenant, workspace, params) => {
    const tracer = tracing.tracer;
    if (!tracer) return observed(request, tenant, workspace, params);
    // Names from the routes table and the status only: never the path's values, a query string, a header or the body.
    const attributes = { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_HTTP_ROUTE]: template, "ropc.route": name };
    return inSpan(tracer, name, SpanKind.SERVER, attributes, async (span) => {
      const response = await observed(request, tenant, workspace, params);
      span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.status);
      // The id the response and the audit trail carry (X-Request-Id), to find one from the other.
      span.setAttribute("ropc.request_id", response.headers["X-Request-Id"] ?? "");
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    });
  };
}

function route(name: RouteName, spec: RouteSpec): WorkspaceRoute {
  const serve = measured(name, workspaceHandler(spec.methods, spec.options, urlFor));
  return { ...nextHandlers(serve), serve };
}

/** Each endpoint's handlers: Next's, one per method (app/ re-exports them), and `serve` for the production server. */
export const routes = Object.fromEntries((Object.keys(ROUTE_TABLE) as RouteName[]).map((name) => [name, route(name, ROUTE_TABLE[name])])) as Readonly<
  Record<RouteName, WorkspaceRoute>
>;
