import { loginConfig } from "@/lib/login/config.ts";
import { loginFetch } from "@/lib/login/token-client.ts";

// A page waits for this call: a server that does not answer must not hold it up for long.
const TIMEOUT_MS = 10_000;

// A tenant's or a workspace's name as an issuer's path has it (the authorization server's rule).
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export type ConfirmOutcome = "confirmed" | "invalid_link" | "unreachable" | "unavailable";

/** The issuer a confirmation link is for, and whether it is this app's own. */
export interface LinkIssuer {
  issuer: string;
  own: boolean;
}

/**
 * The issuer of the workspace a confirmation link names (its `tenant` and `workspace`): a
 * workspace of this app's authorization server, so its issuer is this app's own with the last two
 * segments of the path replaced; never another server. A link that names none (mailed before
 * links named one) is for this app's own. Null for a name that is not one, or half a pair.
 */
export function linkIssuer(tenant: string, workspace: string): LinkIssuer | null {
  const own = new URL(loginConfig().issuer.href.replace(/\/$/, ""));
  if (tenant === "" && workspace === "") return { issuer: own.href, own: true };
  const segments = own.pathname.split("/").slice(1);
  if (!SLUG.test(tenant) || !SLUG.test(workspace) || segments.length < 2) return null;
  const issuer = new URL([...segments.slice(0, -2), tenant, workspace].join("/"), `${own.origin}/`).href;
  return { issuer, own: issuer === own.href };
}

/**
 * Confirms a new email address with the token of the link mailed to it: `POST
 * {issuer}/account/email/verify` (the account API, under the issuer like the MFA API), the
 * issuer being the one the link names (`linkIssuer`). The token is the proof; the person
 * following the link need not be signed in on this device.
 */
export async function confirmEmailAddress(token: string, issuer: string): Promise<ConfirmOutcome> {
  if (token === "" || token.length > 128) return "invalid_link";
  const url = new URL(`${issuer.replace(/\/$/, "")}/account/email/verify`);
  try {
    const response = await loginFetch()(url, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }),
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (response.status === 204) return "confirmed";
    const body = (await response.json().catch(() => ({}))) as { error?: unknown };
    // A token the workspace does not know, or a workspace the server does not have: the link is no good.
    return body.error === "invalid_verification_token" || (response.status === 404 && body.error === "not_found") ? "invalid_link" : "unavailable";
  } catch {
    return "unreachable";
  }
}
