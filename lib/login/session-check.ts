import { createHash } from "node:crypto";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import { sessionStatus, SignInError, type SessionTokens } from "@/lib/login/token-client.ts";
import { registerCache } from "@/lib/platform/caches.ts";

/**
 * Whether a session still lives at the authorization server: "ended" when it no longer honours
 * the session's access token (sign-out elsewhere, an administrator ended it, the user was
 * disabled); "unknown" when the server could not be asked.
 */
export type Liveness = "alive" | "ended" | "unknown";

/** Bounded: past this many sessions the cache starts over (each is asked again, nothing is lost). */
export const MAX_SESSION_CHECKS = 10_000;

// By a hash of the access token: the token itself is a bearer credential and stays out of memory
// dumps and logs.
// One map per process on globalThis: the proxy (lib/login/proxy.ts) and the account page's actions
// are bundled apart by Next, and an action must be able to forget what the proxy knows.
const CHECKS = Symbol.for("ropc.login.session-checks");
const checks = registerCache(
  "login session checks",
  ((globalThis as Record<symbol, Map<string, { at: number; liveness: Promise<Liveness> }> | undefined>)[CHECKS] ??= new Map()),
  "state",
);

/** What the check asks about: the refresh token where the session has one (see sessionStatus). */
export type SessionCheckTokens = Pick<SessionTokens, "accessToken" | "refreshToken">;

function sessionKey(accessToken: string): string {
  return createHash("sha256").update(accessToken).digest("base64url");
}

function ask(tokens: SessionCheckTokens, key: string): Promise<Liveness> {
  return sessionStatus(tokens).then(
    (status): Liveness => (status === "active" ? "alive" : "ended"),
    (err: unknown): Liveness => {
      // The session is kept: an outage of the authorization server must not sign everyone out.
      // The next request asks again (an unknown answer is not cached).
      const reason = err instanceof SignInError ? `${err.reason}: ${String(err.cause ?? "")}` : String(err);
      logger.warn({ event: "login.session_check_failed", session: key.slice(0, 12), reason }, "could not check the session at the authorization server");
      return "unknown";
    },
  );
}

/**
 * Asks the authorization server whether the session with these tokens still lives, at most
 * once per `ttlMs` (SESSION_CHECK_SECONDS; 0: on every call). Calls that arrive while a check is
 * under way share it.
 */
export function sessionLiveness(tokens: SessionCheckTokens, now = Date.now(), ttlMs = settings().SESSION_CHECK_SECONDS * 1000): Promise<Liveness> {
  const key = sessionKey(tokens.accessToken);
  const cached = checks.get(key);
  if (cached && now - cached.at < ttlMs) return cached.liveness;
  if (checks.size >= MAX_SESSION_CHECKS) checks.clear();
  const liveness = ask(tokens, key);
  const entry = { at: now, liveness };
  checks.set(key, entry);
  void liveness.then((answer) => {
    if (answer === "unknown" && checks.get(key) === entry) checks.delete(key);
  });
  return liveness;
}

/** Forgets what is known of one session, so that the next request asks again (at sign-out). */
export function forgetSessionCheck(accessToken: string): void {
  checks.delete(sessionKey(accessToken));
}

/** Forgets every session (tests). */
export function clearSessionChecks(): void {
  checks.clear();
}

/** How many sessions are remembered (tests: the cache is bounded). */
export function sessionChecksSize(): number {
  return checks.size;
}

/**
 * Forgets what is known of every session, so that each one's next request asks again: after this
 * user ended one of their other sessions (or all), whose access tokens this app does not hold, so
 * that the browser of the ended session, if it is served here, is signed out at its next request.
 */
export function forgetAllSessionChecks(): void {
  checks.clear();
}
