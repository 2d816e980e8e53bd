import { UnauthorizedClient } from "@/lib/oauth/protocol/errors.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";

/**
 * A browser request (it has an Origin) is accepted only from an origin this client allows, so no
 * other site can make its visitors' browsers guess passwords or spend tokens as this client.
 */
export function assertOriginAllowed(request: OAuthRequest, clientOrigins: readonly string[]): void {
  const origin = request.headers.get("origin");
  if (origin !== null && !clientOrigins.includes(origin)) {
    throw new UnauthorizedClient("requests from this origin are not allowed for this client", { status: 403, detail: `origin ${origin.slice(0, 100)}` });
  }
}
