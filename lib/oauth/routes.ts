import { discovery, jwks } from "@/lib/oauth/endpoints/discovery.ts";
import { introspectionEndpoint } from "@/lib/oauth/endpoints/introspection.ts";
import { revocationEndpoint } from "@/lib/oauth/endpoints/revocation.ts";
import { tokenEndpoint } from "@/lib/oauth/endpoints/token.ts";
import { userinfoEndpoint } from "@/lib/oauth/endpoints/userinfo.ts";
import { mfaAssociateEndpoint } from "@/lib/oauth/endpoints/mfa/associate.ts";
import { mfaAuthenticatorsEndpoint } from "@/lib/oauth/endpoints/mfa/authenticators.ts";
import { mfaConfirmEndpoint } from "@/lib/oauth/endpoints/mfa/confirm.ts";
import { mfaRecoveryCodesEndpoint } from "@/lib/oauth/endpoints/mfa/recovery-codes.ts";
import { mfaRemoveEndpoint } from "@/lib/oauth/endpoints/mfa/remove.ts";
import type { Endpoint, RouteName } from "@/lib/oauth/endpoints/context.ts";
import { nextHandlers, type NextHandlers } from "@/lib/oauth/pipeline/next-adapter.ts";
import { workspaceHandler, type RouteOptions, type WorkspaceHandler } from "@/lib/oauth/pipeline/workspace-route.ts";

/** One endpoint of a workspace: where it lives under the issuer, what answers each method, how. */
export interface RouteSpec {
  path: `/${string}`;
  methods: Partial<Record<"GET" | "POST", Endpoint>>;
  options: RouteOptions;
}

/**
 * THE table of the authorization server's endpoints, under each workspace's issuer
 * (`/{tenant}/{workspace}`). The app/ route files re-export `routes[name]` (a test checks that
 * each one exists at its path), the production server matches paths from it
 * (pipeline/node-adapter.ts), and discovery builds its URLs from it (`context.urlFor`).
 */
export const ROUTE_TABLE: Readonly<Record<RouteName, RouteSpec>> = {
  token: { path: "/oauth2/token", methods: { POST: tokenEndpoint }, options: { cors: true, audit: true } },
  revocation: { path: "/oauth2/revoke", methods: { POST: revocationEndpoint }, options: { cors: true, audit: true } },
  introspection: { path: "/oauth2/introspect", methods: { POST: introspectionEndpoint }, options: { cors: true } },
  userinfo: { path: "/userinfo", methods: { GET: userinfoEndpoint, POST: userinfoEndpoint }, options: { cors: true } },
  discovery: { path: "/.well-known/openid-configuration", methods: { GET: discovery }, options: {} },
  jwks: { path: "/.well-known/jwks.json", methods: { GET: jwks }, options: {} },
  // Multi-factor authentication (Auth0's MFA API shape where it has one).
  mfaAuthenticators: { path: "/mfa/authenticators", methods: { GET: mfaAuthenticatorsEndpoint }, options: { cors: true } },
  mfaAssociate: { path: "/mfa/associate", methods: { POST: mfaAssociateEndpoint }, options: { cors: true, audit: true } },
  mfaConfirm: { path: "/mfa/confirm", methods: { POST: mfaConfirmEndpoint }, options: { cors: true, audit: true } },
  mfaRemove: { path: "/mfa/remove", methods: { POST: mfaRemoveEndpoint }, options: { cors: true, audit: true } },
  mfaRecoveryCodes: { path: "/mfa/recovery-codes", methods: { POST: mfaRecoveryCodesEndpoint }, options: { cors: true, audit: true } },
};

const urlFor = (issuer: string, name: RouteName) => `${issuer}${ROUTE_TABLE[name].path}`;

/** A route's Next handlers, one per method, and the handler they share. */
export type WorkspaceRoute = NextHandlers & { serve: WorkspaceHandler };

function route(spec: RouteSpec): WorkspaceRoute {
  const serve = workspaceHandler(spec.methods, spec.options, urlFor);
  return { ...nextHandlers(serve), serve };
}

/** Each endpoint's handlers: Next's, one per method (app/ re-exports them), and `serve` for the production server. */
export const routes = Object.fromEntries(Object.entries(ROUTE_TABLE).map(([name, spec]) => [name, route(spec)])) as Readonly<Record<RouteName, WorkspaceRoute>>;
