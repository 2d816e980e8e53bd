import type { Logger } from "@/lib/platform/logger.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import type { OAuthRequest, OAuthResponse } from "@/lib/oauth/protocol/responses.ts";

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
  /** The absolute URL of one of the workspace's endpoints (discovery). */
  urlFor(name: RouteName): string;
}

/** The endpoints of a workspace, by name (their paths are in lib/oauth/routes.ts). */
export type RouteName = "token" | "revocation" | "introspection" | "userinfo" | "discovery" | "jwks";

export type Endpoint = (request: OAuthRequest, context: EndpointContext) => Promise<OAuthResponse>;
