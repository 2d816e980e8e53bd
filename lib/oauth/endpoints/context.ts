import type { Logger } from "@/lib/platform/logger.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import type { OAuthRequest, OAuthResponse } from "@/lib/oauth/protocol/responses.ts";

/** What an endpoint learns as it goes, written to the audit trail when the request ends. */
export interface AuditDraft {
  event?: string;
  /** The client, once known (authenticated, or named by a token we issued). */
  clientId?: string;
  /**
   * Whether a failure of this request is someone's to answer for: a client that proved a
   * credential, a token we verified as ours, or a password attempt the brute-force defence
   * counts. Any other failure is unauthenticated junk: it spends the address's budget and is
   * only counted in the audit trail (defence/request-budget.ts).
   */
  accountable?: boolean;
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
  /** The route's own path parameters (`{id}` of `/account/sessions/{id}`), decoded; empty for most routes. */
  params: Readonly<Record<string, string>>;
  audit: AuditDraft;
  /** The absolute URL of one of the workspace's endpoints (discovery). */
  urlFor(name: RouteName): string;
}

/** The endpoints of a workspace, by name (their paths are in lib/oauth/routes.ts). */
export type RouteName =
  | "token"
  | "revocation"
  | "introspection"
  | "userinfo"
  | "registration"
  | "discovery"
  | "jwks"
  | "mfaAuthenticators"
  | "mfaAssociate"
  | "mfaConfirm"
  | "mfaRemove"
  | "mfaRecoveryCodes"
  | "accountSessions"
  | "accountSession"
  | "accountPassword"
  | "accountActivity"
  | "accountProfile"
  | "accountEmailVerify"
  | "passwordReset"
  | "passwordResetComplete";

export type Endpoint = (request: OAuthRequest, context: EndpointContext) => Promise<OAuthResponse>;
