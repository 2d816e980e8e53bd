import { decodeJwt } from "jose";
import { ACCOUNT_SCOPE, issuerMetadata, loginFetch } from "@/lib/login/token-client.ts";

/**
 * The login app's client of the authorization server's account API (`{issuer}/account/…`), over
 * HTTP only, with the session's access token as bearer: the user's sessions, their password and
 * recent sign-in activity. An issuer without that API (its discovery lists no `account` scope)
 * has none of it, and the account page leaves those sections out.
 */

const TIMEOUT_MS = 10_000;

/**
 * Why a call failed, in terms the account page can explain: `ended` the session is no longer
 * honoured (sign in again), `wrong_password` the current password was wrong, `policy` a new
 * password broke a rule (`rule`, `description` say which), `not_found` no such session,
 * `invalid` a profile value was refused (`description` says why), `conflict` the server cannot
 * do it now (it sends no mail), `too_many_attempts` locked or rate-limited for a while,
 * `code_required` the session did not pass the user's second factor, so a change of the password
 * or address needs a current code too (RFC 9470's `insufficient_user_authentication`),
 * `wrong_code` that code was wrong, `otp_locked` codes are refused after too many wrong ones,
 * `unavailable` the server has no account API or could not be reached, `refused` anything else.
 */
export type AccountFailure =
  | "ended"
  | "wrong_password"
  | "policy"
  | "invalid"
  | "conflict"
  | "not_found"
  | "too_many_attempts"
  | "code_required"
  | "wrong_code"
  | "otp_locked"
  | "unavailable"
  | "refused";

export class AccountApiError extends Error {
  constructor(
    readonly reason: AccountFailure,
    readonly rule?: string,
    readonly description?: string,
  ) {
    super(reason);
    this.name = "AccountApiError";
  }
}

/** Whether the issuer has our account API. */
export async function hasAccountApi(): Promise<boolean> {
  try {
    return (await issuerMetadata()).scopes_supported?.includes(ACCOUNT_SCOPE) ?? false;
  } catch {
    return false;
  }
}

type Method = "GET" | "POST" | "PATCH" | "DELETE";

/** Whether a JWT access token's `exp` has passed (read, not verified: the server verified it); false for a token that is no JWT. */
function hasExpired(accessToken: string): boolean {
  try {
    const { exp } = decodeJwt(accessToken);
    return typeof exp === "number" && exp * 1000 <= Date.now();
  } catch {
    return false;
  }
}

async function accountRequest(
  accessToken: string,
  method: Method,
  path: string,
  body?: Record<string, string> | { json: Record<string, unknown> },
): Promise<unknown> {
  const payload =
    body === undefined
      ? undefined
      : "json" in body
        ? { type: "application/json", text: JSON.stringify(body.json) }
        : { type: "application/x-www-form-urlencoded", text: new URLSearchParams(body as Record<string, string>).toString() };
  let response: Response;
  try {
    const as = await issuerMetadata();
    if (!as.scopes_supported?.includes(ACCOUNT_SCOPE)) throw new AccountApiError("unavailable");
    response = await loginFetch()(new URL(`${as.issuer.replace(/\/$/, "")}/account/${path}`), {
      method,
      headers: { Accept: "application/json", Authorization: `Bearer ${accessToken}`, ...(payload ? { "Content-Type": payload.type } : {}) },
      body: payload?.text,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    if (err instanceof AccountApiError) throw err;
    throw new AccountApiError("unavailable");
  }
  if (response.status === 204) return null;
  let json: unknown = null;
  try {
    const text = await response.text();
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new AccountApiError("refused");
  }
  if (response.ok) return json;
  const fields = json && typeof json === "object" ? (json as Record<string, unknown>) : {};
  const text = (name: string) => (typeof fields[name] === "string" ? fields[name] : undefined);
  if (response.status === 401) {
    // RFC 9470 step-up: the session is fine, but its sign-in did not pass the second factor.
    if (/error="insufficient_user_authentication"/.test(response.headers.get("www-authenticate") ?? "")) throw new AccountApiError("code_required");
    // An access token past its expiry: the proxy could not refresh it (the server unreachable,
    // busy or failing), and its 401 says nothing of the session, which is kept.
    throw new AccountApiError(hasExpired(accessToken) ? "unavailable" : "ended");
  }
  // Its error code tells a lockout (too_many_attempts) from a mail limit (invalid_request).
  if (response.status === 429) throw new AccountApiError("too_many_attempts", undefined, text("error"));
  if (response.status === 404) throw new AccountApiError("not_found");
  if (response.status === 403 && text("error") === "invalid_grant") throw new AccountApiError("wrong_password");
  if (response.status === 400 && text("error") === "invalid_grant") throw new AccountApiError("wrong_code");
  if (text("error") === "otp_locked") throw new AccountApiError("otp_locked");
  if (response.status === 400 && text("password_rule")) throw new AccountApiError("policy", text("password_rule"), text("error_description"));
  if (response.status === 400 && text("error") === "invalid_request") throw new AccountApiError("invalid", undefined, text("error_description"));
  if (response.status === 409) throw new AccountApiError("conflict", undefined, text("error_description"));
  throw new AccountApiError("refused", undefined, text("error"));
}

/** One of the user's sessions as the account API lists it (times in seconds since the epoch). */
export interface AccountSession {
  id: string;
  clientId: string;
  createdAt: number;
  lastUsedAt: number;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

const str = (v: unknown) => (typeof v === "string" ? v : null);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const list = (answer: unknown, name: string): Array<Record<string, unknown>> => {
  const items = answer && typeof answer === "object" ? (answer as Record<string, unknown>)[name] : undefined;
  if (!Array.isArray(items)) throw new AccountApiError("refused");
  return items.filter((i): i is Record<string, unknown> => i !== null && typeof i === "object");
};

/** `GET /account/sessions`: the user's live sessions, newest first. */
export async function listSessions(accessToken: string): Promise<AccountSession[]> {
  return list(await accountRequest(accessToken, "GET", "sessions"), "sessions").map((s) => ({
    id: str(s.id) ?? "",
    clientId: str(s.client_id) ?? "",
    createdAt: num(s.created_at),
    lastUsedAt: num(s.last_used_at),
    ip: str(s.ip),
    userAgent: str(s.user_agent),
    current: s.current === true,
  }));
}

/** `DELETE /account/sessions/{id}`. */
export async function endSession(accessToken: string, id: string): Promise<void> {
  await accountRequest(accessToken, "DELETE", `sessions/${encodeURIComponent(id)}`);
}

/** `DELETE /account/sessions`: every session but this one. */
export async function endOtherSessions(accessToken: string): Promise<void> {
  await accountRequest(accessToken, "DELETE", "sessions");
}

/** `POST /account/password`; the passwords go in the body only, with a current code when the session needs one (`code_required`). */
export async function changePassword(accessToken: string, currentPassword: string, newPassword: string, otp?: string): Promise<void> {
  await accountRequest(accessToken, "POST", "password", { current_password: currentPassword, new_password: newPassword, ...(otp ? { otp } : {}) });
}

/** One event of the account's recent activity. */
export interface ActivityEvent {
  at: number;
  type: string;
  outcome: string;
  clientId: string | null;
  ip: string | null;
  userAgent: string | null;
}

/** `GET /account/activity`: the newest sign-ins (and failed attempts) and password changes. */
export async function recentActivity(accessToken: string): Promise<ActivityEvent[]> {
  return list(await accountRequest(accessToken, "GET", "activity"), "events").map((e) => ({
    at: num(e.at),
    type: str(e.type) ?? "",
    outcome: str(e.outcome) ?? "",
    clientId: str(e.client_id),
    ip: str(e.ip),
    userAgent: str(e.user_agent),
  }));
}

/** What a new password must be, as the issuer publishes it (discovery's `password_policy`), for a form to say before submitting. */
export interface PasswordRules {
  minLength: number;
  maxLength: number;
  rejects: string[];
}

/** The issuer's password rules; without any published (another server), at least 8 characters. */
export async function passwordRules(): Promise<PasswordRules> {
  const fallback = { minLength: 8, maxLength: 1024, rejects: [] };
  try {
    const policy = (await issuerMetadata()).password_policy;
    if (!policy || typeof policy !== "object") return fallback;
    const p = policy as Record<string, unknown>;
    return {
      minLength: typeof p.min_length === "number" ? p.min_length : fallback.minLength,
      maxLength: typeof p.max_length === "number" ? p.max_length : fallback.maxLength,
      rejects: Array.isArray(p.rejects) ? p.rejects.filter((r): r is string => typeof r === "string") : [],
    };
  } catch {
    return fallback;
  }
}

/** The user's profile as the account API keeps it; `pendingEmail` while a new address awaits its confirmation. */
export interface Profile {
  username: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  pendingEmail: string | null;
}

function profileOf(answer: unknown): Profile {
  const p = answer && typeof answer === "object" ? (answer as Record<string, unknown>) : {};
  return {
    username: str(p.username) ?? "",
    name: str(p.name),
    email: str(p.email),
    emailVerified: p.email_verified === true,
    pendingEmail: str(p.pending_email),
  };
}

/** `GET /account/profile`. */
export async function getProfile(accessToken: string): Promise<Profile> {
  return profileOf(await accountRequest(accessToken, "GET", "profile"));
}

/** `PATCH /account/profile` with what changed: the name at once, a new email once its owner confirms it. */
export async function updateProfile(
  accessToken: string,
  changes: { name?: string | null; email?: string; currentPassword?: string; otp?: string },
): Promise<Profile> {
  const { currentPassword, otp, ...fields } = changes;
  const json = { ...fields, ...(currentPassword === undefined ? {} : { current_password: currentPassword }), ...(otp ? { otp } : {}) };
  return profileOf(await accountRequest(accessToken, "PATCH", "profile", { json }));
}
