import { loginConfig } from "@/lib/login/config.ts";
import { issuerMetadata, loginFetch } from "@/lib/login/token-client.ts";
import { logger } from "@/lib/platform/logger.ts";

/**
 * Password recovery from the login app, over HTTP only: the issuer offers it when its discovery
 * document lists `password_reset_endpoint` (ours does while it can send mail) and the completion
 * at `password_reset_complete_endpoint`. Both are called as the login app's client (Basic).
 */

// A page waits for these calls: a server that does not answer must not hold it up for long.
const TIMEOUT_MS = 10_000;

/** The password policy a page shows before submitting: the issuer's, else the least any sane server asks. */
export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  /** What it refuses besides length: `common`, `username`, `email`. */
  rejects: string[];
}

const FALLBACK_POLICY: PasswordPolicy = { minLength: 8, maxLength: 1024, rejects: [] };

interface RecoveryEndpoints {
  request: URL;
  complete: URL;
}

function endpointOf(value: unknown): URL | undefined {
  return typeof value === "string" && URL.canParse(value) ? new URL(value) : undefined;
}

/** The issuer's recovery endpoints, or null when it offers none (or cannot be reached: no link then either). */
async function recoveryEndpoints(): Promise<RecoveryEndpoints | null> {
  try {
    const as = await issuerMetadata();
    const request = endpointOf(as.password_reset_endpoint);
    const complete = endpointOf(as.password_reset_complete_endpoint);
    return request && complete ? { request, complete } : null;
  } catch {
    return null;
  }
}

/** Whether the login page shows "Forgot password?". */
export async function recoveryOffered(): Promise<boolean> {
  return (await recoveryEndpoints()) !== null;
}

/** The issuer's password policy (discovery's `password_policy`), for the rules a page shows before submitting. */
export async function passwordPolicy(): Promise<PasswordPolicy> {
  try {
    const policy = (await issuerMetadata()).password_policy;
    if (!policy || typeof policy !== "object") return FALLBACK_POLICY;
    const { min_length: min, max_length: max, rejects } = policy as Record<string, unknown>;
    return {
      minLength: typeof min === "number" ? min : FALLBACK_POLICY.minLength,
      maxLength: typeof max === "number" ? max : FALLBACK_POLICY.maxLength,
      rejects: Array.isArray(rejects) ? rejects.filter((r): r is string => typeof r === "string") : [],
    };
  } catch {
    return FALLBACK_POLICY;
  }
}

/** The policy in words, one rule a line, as the reset page lists it. */
export function policyRules(policy: PasswordPolicy): string[] {
  const rules = [`At least ${policy.minLength} characters (a few words together work well)`];
  if (policy.rejects.includes("common")) rules.push("Not a commonly used password");
  if (policy.rejects.includes("username") || policy.rejects.includes("email")) rules.push("Not containing your username or email address");
  return rules;
}

/** RFC 6749 §2.3.1: each part form-urlencoded, then Basic. */
function basicAuthorization(): string {
  const { clientId, clientSecret } = loginConfig();
  const enc = (s: string) => new URLSearchParams({ s }).toString().slice(2);
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`).toString("base64")}`;
}

async function post(url: URL, fields: Record<string, string>): Promise<{ status: number; error?: string; description?: string; rule?: string }> {
  const response = await loginFetch()(url, {
    method: "POST",
    headers: { Accept: "application/json", Authorization: basicAuthorization(), "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
    redirect: "manual",
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed && typeof parsed === "object") body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON: only the status speaks.
  }
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return { status: response.status, error: str(body.error), description: str(body.error_description), rule: str(body.password_rule) };
}

/** What a recovery form says after its submit. */
export type RecoveryOutcome = "sent" | "unavailable" | "unreachable";

/**
 * Asks the issuer to mail a reset link to the account named by `identifier`: an address when it
 * has an `@`, else a username. "sent" whatever the account: the server's answer does not say.
 */
export async function requestPasswordReset(identifier: string): Promise<RecoveryOutcome> {
  const endpoints = await recoveryEndpoints();
  if (!endpoints) return "unavailable";
  const name = identifier.trim();
  try {
    const answer = await post(endpoints.request, name.includes("@") ? { email: name } : { username: name });
    if (answer.status === 202) return "sent";
    logger.warn({ event: "login.recovery.refused", status: answer.status, error: answer.error }, "the issuer refused a password reset request");
    return "unavailable";
  } catch {
    return "unreachable";
  }
}

/** What became of a new password. */
export type ResetOutcome = { ok: true } | { ok: false; error: "invalid_link" | "policy" | "unavailable" | "unreachable"; message?: string; rule?: string };

/** Sets the new password with the link's token. A refusal by the policy carries the server's words for the rule. */
export async function completePasswordReset(token: string, newPassword: string): Promise<ResetOutcome> {
  const endpoints = await recoveryEndpoints();
  if (!endpoints) return { ok: false, error: "unavailable" };
  try {
    const answer = await post(endpoints.complete, { token, new_password: newPassword });
    if (answer.status === 204) return { ok: true };
    // Unknown, used or expired: the page says the same for each (ask for a new link).
    if (answer.error === "invalid_reset_token") return { ok: false, error: "invalid_link" };
    if (answer.error === "invalid_request" && answer.rule) return { ok: false, error: "policy", message: answer.description, rule: answer.rule };
    logger.warn({ event: "login.recovery.refused", status: answer.status, error: answer.error }, "the issuer refused a new password");
    return { ok: false, error: "unavailable" };
  } catch {
    return { ok: false, error: "unreachable" };
  }
}
