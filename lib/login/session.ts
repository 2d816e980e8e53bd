import { decode, encode, type JWT } from "next-auth/jwt";
import { loginConfig } from "@/lib/login/config.ts";
import { chunkedCookieValue, chunkedCookieWrites, isChunkOf } from "@/lib/login/cookie-chunks.ts";
import { refreshTokens, SignInError, type SessionTokens } from "@/lib/login/token-client.ts";
import { registerCache } from "@/lib/platform/caches.ts";

/** How long a session lives without activity (the refresh token's default lifetime). */
export const SESSION_MAX_AGE = 7 * 24 * 3600;

declare module "next-auth/jwt" {
  interface JWT {
    /** Server-side only: the encrypted cookie holds them; the session callback never copies them. */
    tokens?: SessionTokens;
  }
}

/** next-auth's cookie name; `__Secure-` prefixed when the app is served over https. */
export function sessionCookieName(secure = loginConfig().secureCookies): string {
  return `${secure ? "__Secure-" : ""}next-auth.session-token`;
}

/** Whether a cookie is the session's, whole or one of its chunks (next-auth splits a long one: cookie-chunks.ts). */
export const isSessionCookie = (cookie: string, name = sessionCookieName()) => isChunkOf(cookie, name);

/** The session cookie's value among a request's cookies: its chunks joined in order, or the cookie whole. */
export function sessionCookieValue(cookies: Iterable<{ name: string; value: string }>, name = sessionCookieName()): string | undefined {
  return chunkedCookieValue(cookies, name);
}

/**
 * The cookies that store a session `value`, split as next-auth splits it, and which of the
 * request's session cookies (`existing`) must go: a stale chunk would be joined to the new value.
 */
export function sessionCookieWrites(value: string, existing: Iterable<string>, name = sessionCookieName()): { set: Array<[string, string]>; remove: string[] } {
  return chunkedCookieWrites(value, existing, name);
}

export function decodeSession(value: string | undefined): Promise<JWT | null> {
  if (!value) return Promise.resolve(null);
  return decode({ token: value, secret: loginConfig().nextAuthSecret }).catch(() => null);
}

export function encodeSession(token: JWT): Promise<string> {
  return encode({ token, secret: loginConfig().nextAuthSecret, maxAge: SESSION_MAX_AGE });
}

/** Refresh this long before the access token expires: a minute, or a quarter of a short lifetime. */
export function refreshMargin(tokens: SessionTokens): number {
  return Math.min(60_000, (tokens.lifetime * 1000) / 4);
}

export function needsRefresh(tokens: SessionTokens, now = Date.now()): boolean {
  return now >= tokens.expiresAt - refreshMargin(tokens);
}

/** `deferred`: the refresh failed (an unreachable, busy or failing server) and is tried again at the next request. */
export type RefreshOutcome = { kind: "refreshed"; token: JWT } | { kind: "ended"; reason: string } | { kind: "unchanged" } | { kind: "deferred" };

// Refreshes in flight or just done, by the refresh token they spend. Several requests of one
// browser arriving with the same cookie share one refresh instead of each spending the token
// (which the server would take for reuse and end the session). Entries live a minute, so a
// request still carrying the old cookie gets the new tokens too.
const inFlight = registerCache("login refreshes in flight", new Map<string, { at: number; outcome: Promise<RefreshOutcome> }>(), "state");
const SHARE_MS = 60_000;

/**
 * The session as a refresh of its refresh token, under way or done within the minute (by another
 * request of the same browser), left it with another refresh token; undefined when there is none,
 * or it did not rotate the token. A check of the session that found its refresh token spent may
 * have found it spent by that rotation; an issuer that does not rotate never spends it so, and a
 * session it ended stays ended.
 */
export async function refreshedMeanwhile(token: JWT, now = Date.now()): Promise<JWT | undefined> {
  const refreshToken = token.tokens?.refreshToken;
  const entry = refreshToken === undefined ? undefined : inFlight.get(refreshToken);
  if (!entry || now - entry.at > SHARE_MS) return undefined;
  const outcome = await entry.outcome;
  return outcome.kind === "refreshed" && outcome.token.tokens?.refreshToken !== refreshToken ? outcome.token : undefined;
}

/**
 * Whether a refresh's failure says the session is over: its refresh token refused
 * (`invalid_grant`), or the login app's client (`invalid_client`, `unauthorized_client`).
 * Anything else (an unreachable, busy or failing server, a load balancer's page during a deploy)
 * says nothing about the session.
 */
function endsSession(err: unknown): boolean {
  if (!(err instanceof SignInError)) return false;
  if (err.reason === "invalid_credentials") return true;
  // classify's detail for a refusal: the status and the OAuth error code.
  return err.reason === "refused" && / (invalid_client|unauthorized_client)$/.test(String(err.cause));
}

/**
 * The session with fresh tokens when its access token is about to expire. A refused refresh ends
 * the session; an unreachable, busy or failing server leaves it as it is, to be tried again at the
 * next request (the failure is not shared for the minute a refresh is).
 */
export function refreshSession(token: JWT, now = Date.now()): Promise<RefreshOutcome> {
  const tokens = token.tokens;
  if (!tokens || !needsRefresh(tokens, now)) return Promise.resolve({ kind: "unchanged" });
  if (!tokens.refreshToken) return Promise.resolve({ kind: "ended", reason: "no refresh token" });
  for (const [key, entry] of inFlight) if (now - entry.at > SHARE_MS) inFlight.delete(key);
  const refreshToken = tokens.refreshToken;
  const shared = inFlight.get(refreshToken);
  if (shared) return shared.outcome;
  const outcome = refreshTokens(refreshToken, tokens.idToken).then(
    (signedIn): RefreshOutcome => ({
      kind: "refreshed",
      token: { ...token, tokens: { ...signedIn.tokens, refreshToken: signedIn.tokens.refreshToken ?? refreshToken } },
    }),
    (err: unknown): RefreshOutcome => {
      if (!endsSession(err)) {
        inFlight.delete(refreshToken);
        return { kind: "deferred" };
      }
      return { kind: "ended", reason: err instanceof SignInError ? err.reason : "error" };
    },
  );
  inFlight.set(refreshToken, { at: now, outcome });
  return outcome;
}
