import { loginConfig } from "@/lib/login/config.ts";
import { loginFetch } from "@/lib/login/token-client.ts";

// A page waits for this call: a server that does not answer must not hold it up for long.
const TIMEOUT_MS = 10_000;

export type ConfirmOutcome = "confirmed" | "invalid_link" | "unreachable" | "unavailable";

/**
 * Confirms a new email address with the token of the link mailed to it: `POST
 * {issuer}/account/email/verify` (the account API, under the issuer like the MFA API). The token
 * is the proof; the person following the link need not be signed in on this device.
 */
export async function confirmEmailAddress(token: string): Promise<ConfirmOutcome> {
  if (token === "" || token.length > 128) return "invalid_link";
  const url = new URL(`${loginConfig().issuer.href.replace(/\/$/, "")}/account/email/verify`);
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
    return body.error === "invalid_verification_token" ? "invalid_link" : "unavailable";
  } catch {
    return "unreachable";
  }
}
