import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import type { OAuthRequest, OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { allowedOriginsOf } from "@/lib/oauth/store/clients.ts";

/**
 * CORS (Fetch standard): an origin some client of the workspace allows may read the answer; the
 * endpoints then refuse a request whose Origin its own client does not allow (client-auth.ts).
 */
export async function addCorsHeaders(request: OAuthRequest, response: OAuthResponse, workspace: Workspace, methods: string[]): Promise<void> {
  const headers = response.headers;
  headers.Vary = headers.Vary ? `${headers.Vary}, Origin` : "Origin";
  const origin = request.headers.get("origin");
  if (!origin || !(await allowedOriginsOf(workspace)).has(origin)) return;
  headers["Access-Control-Allow-Origin"] = origin;
  if (request.method === "OPTIONS") {
    headers["Access-Control-Allow-Methods"] = methods.join(", ");
    // DPoP: the proof header of RFC 9449 §4.1.
    headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, DPoP";
    headers["Access-Control-Max-Age"] = "600";
  } else {
    // DPoP-Nonce: a browser client must read the server's nonce (RFC 9449 §8) to send it back.
    headers["Access-Control-Expose-Headers"] = "WWW-Authenticate, Retry-After, X-Request-Id, DPoP-Nonce";
  }
}
