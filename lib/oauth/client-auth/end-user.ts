import { normalizeAddress } from "@/lib/platform/client-address.ts";
import type { Client } from "@/lib/oauth/model/client.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";

/** Where a trusted server-side client puts its end user's address (cf. Auth0's auth0-forwarded-for). */
export const END_USER_IP_HEADER = "ropc-forwarded-for";
/** Where the same clients put their end user's browser's User-Agent, for the audit trail. */
export const END_USER_AGENT_HEADER = "ropc-forwarded-user-agent";

/** Only a confidential client marked for it, having proven a credential, speaks for its end user. */
function forwardsForEndUser(client: Client): boolean {
  return client.forwardsEndUserIp && client.confidential && client.authMethod !== "none";
}

/**
 * The address a password attempt is counted against: the end user's as passed by a confidential
 * client trusted for it (after it authenticated), else the caller's own. Anyone else's header,
 * and anything that is not an IP address, is ignored.
 */
export function endUserIp(request: OAuthRequest, client: Client, callerIp: string): string {
  if (!forwardsForEndUser(client)) return callerIp;
  return normalizeAddress(request.headers.get(END_USER_IP_HEADER) ?? "") ?? callerIp;
}

/** The end user's User-Agent as a client trusted for it passes it; else the request's own. */
export function endUserAgent(request: OAuthRequest, client: Client): string | undefined {
  const forwarded = forwardsForEndUser(client) ? request.headers.get(END_USER_AGENT_HEADER) : null;
  return forwarded || request.headers.get("user-agent") || undefined;
}
