import { decode, encode, type JWT } from "next-auth/jwt";
import { loginConfig } from "@/lib/login/config.ts";
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

// next-auth splits a session cookie longer than this into `name.0`, `name.1`, … (a browser keeps
// no cookie over 4,096 bytes; next-auth/core/lib/cookie.js), and so must whatever else writes it.
const CHUNK_SIZE = 4096 - 163;

const chunkIndex = (cookie: string, name: string): number | undefined => {
  if (!cookie.startsWith(`${name}.`)) return undefined;
  const suffix = cookie.slice(name.length + 1);
  return /^\d{1,3}$/.test(suffix) ? Number(suffix) : undefined;
};

/** Whether a cookie is the session's, whole or one of its chunks. */
export const isSessionCookie = (cookie: string, name = sessionCookieName()) => cookie === name || chunkIndex(cookie, name) !== undefined;

/** The session cookie's value among a request's cookies: its chunks joined in order, or the cookie whole. */
export function sessionCookieValue(cookies: Iterable<{ name: string; value: string }>, name = sessionCookieName()): string | undefined {
  const chunks: Array<[number, string]> = [];
  let whole: string | undefined;
  for (const cookie of cookies) {
    const index = chunkIndex(cookie.name, name);
    if (index !== undefined) chunks.push([index, cookie.value]);
    else if (cookie.name === name) whole = cookie.value;
  }
  return chunks.length > 0
    ? chunks
        .sort((a, b) => a[0] - b[0])
        .map(([, value]) => value)
        .join("")
    : whole;
}

/**
 * The cookies that store a session `value`, split as next-auth splits it, and which of the
 * request's session cookies (`existing`) must go: a stale chunk would be joined to the new value.
 */
export function sessionCookieWrites(value: string, existing: Iterable<string>, name = sessionCookieName()): { set: Array<[string, string]>; remove: string[] } {
  const set: Array<[string, string]> =
    value.length <= CHUNK_SIZE
      ? [[name, value]]
      : Array.from({ length: Math.ceil(value.length / CHUNK_SIZE) }, (_, i) => [`${name}.${i}`, value.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)]);
  const kept = new Set(set.map(([cookie]) => cookie));
  return { set, remove: [...existing].filter((cookie) => isSessionCookie(cookie, name) && !kept.has(cookie)) };
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

export type RefreshOutcome = { kind: "refreshed"; token: JWT } | { kind: "ended"; reason: string } | { kind: "unchanged" };

// Refreshes in flight or just done, by the refresh token they spend. Several requests of one
// browser arriving with the same cookie share one refresh instead of each spending the token
// (which the server would take for reuse and end the session). Entries live a minute, so a
// request still carrying the old cookie gets the new tokens too.
const inFlight = registerCache("login refreshes in flight", new Map<string, { at: number; outcome: Promise<RefreshOutcome> }>(), "state");
const SHARE_MS = 60_000;

/**
 * The session with fresh tokens when its access token is about to expire. A refused refresh ends
 * the session; an unreachable server leaves it as it is, to be tried again on the next request.
 */
export function refreshSession(token: JWT, now = Date.now()): Promise<RefreshOutcome> {
  const tokens = token.tokens;
  if (!tokens || !needsRefresh(tokens, now)) return Promise.resolve({ kind: "unchanged" });
  if (!tokens.refreshToken) return Promise.resolve({ kind: "ended", reason: "no refresh token" });
  for (const [key, entry] of inFlight) if (now - entry.at > SHARE_MS) inFlight.delete(key);
  const shared = inFlight.get(tokens.refreshToken);
  if (shared) return shared.outcome;
  const outcome = refreshTokens(tokens.refreshToken, tokens.idToken).then(
    (signedIn): RefreshOutcome => ({
      kind: "refreshed",
      token: { ...token, tokens: { ...signedIn.tokens, refreshToken: signedIn.tokens.refreshToken ?? tokens.refreshToken } },
    }),
    (err: unknown): RefreshOutcome => {
      if (err instanceof SignInError && err.reason === "unreachable") return { kind: "unchanged" };
      return { kind: "ended", reason: err instanceof SignInError ? err.reason : "error" };
    },
  );
  inFlight.set(tokens.refreshToken, { at: now, outcome });
  return outcome;
}
