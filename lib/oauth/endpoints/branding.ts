import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import { type OAuthRequest, type OAuthResponse, publicJson } from "@/lib/oauth/protocol/responses.ts";
import { workspaceLogo } from "@/lib/oauth/store/workspaces.ts";

/** A minute: a change of branding shows on the sign-in pages that soon (with CONFIG_CACHE_SECONDS). */
const MAX_AGE = 60;

/**
 * `GET {issuer}/branding`: what the sign-in pages show for this workspace, as public JSON (like
 * discovery, whose `op_policy_uri` and `op_tos_uri` are meant for client developers, not end
 * users: so these links live here). Fields that are not set are absent. An uploaded logo comes
 * as a `data:` URL (a raster image of at most 64 KiB), so the document is the one request.
 */
export async function brandingEndpoint(_request: OAuthRequest, { workspace }: EndpointContext): Promise<OAuthResponse> {
  const b = workspace.branding;
  const logo = b.logoType ? await workspaceLogo(workspace.id) : null;
  const logoUri = logo ? `data:${logo.type};base64,${Buffer.from(logo.bytes).toString("base64")}` : b.logoUrl;
  const document: Record<string, string> = { name: b.name };
  for (const [key, value] of [
    ["logo_uri", logoUri],
    ["accent_color", b.accent],
    ["help_uri", b.helpUrl],
    ["tos_uri", b.termsUrl],
    ["policy_uri", b.privacyUrl],
  ] as const) {
    if (value) document[key] = value;
  }
  return publicJson(document, MAX_AGE);
}
