import { NextResponse, type NextRequest } from "next/server";
import type { JWT } from "next-auth/jwt";
import { settings } from "@/lib/platform/env.ts";
import { strictTransportSecurity } from "@/lib/platform/security-headers.mjs";
import {
  decodeSession,
  encodeSession,
  isSessionCookie,
  refreshedMeanwhile,
  refreshSession,
  SESSION_MAX_AGE,
  sessionCookieValue,
  sessionCookieWrites,
} from "@/lib/login/session.ts";
import { loginConfig } from "@/lib/login/config.ts";
import { forgetSessionCheck, sessionLiveness } from "@/lib/login/session-check.ts";
import { isSameOriginPost } from "@/lib/login/same-origin.ts";
import { enrolmentCookieName, RECOVERY_CODES_HEADER, recoveryCodesCookieName } from "@/lib/login/account-mfa.ts";

/**
 * The Content-Security-Policy of the login app's pages: scripts only from us and with this
 * request's nonce (Next puts it on its own scripts), no framing, no plugins, forms to us only.
 */
export function contentSecurityPolicy(nonce: string, dev = process.env.NODE_ENV === "development"): string {
  return [
    "default-src 'self'",
    // React's development build evaluates code; production never does.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${dev ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${dev ? " ws:" : ""}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * Runs before every page of the app and next-auth's routes (proxy.ts). It sets the pages' CSP
 * with a fresh nonce (and HSTS when the app is served over https: APP_URL is known at run time
 * only), then keeps the session honest:
 *
 * - when the session's access token is about to expire it refreshes it (rotating the refresh
 *   token) and rewrites the session cookie, both for the browser and for the page rendering this
 *   request: server components cannot set cookies, so this is the one place a refresh can be kept;
 * - otherwise it asks the authorization server whether the session still lives (its UserInfo
 *   endpoint, at most every SESSION_CHECK_SECONDS per session), so that a session cookie replayed
 *   after sign-out, or a session ended at the server, is refused.
 *
 * A refused refresh or an ended session deletes the cookie, and a page load lands on /login with
 * a message. An unreachable server leaves the session as it is.
 */
export async function loginProxy(request: NextRequest): Promise<NextResponse> {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  const csp = contentSecurityPolicy(nonce);
  const codesCookie = recoveryCodesCookieName();
  const codes = takesRecoveryCodes(request) ? request.cookies.get(codesCookie)?.value : undefined;
  const response = await withSession(request, () => {
    const headers = new Headers(request.headers);
    headers.set("Content-Security-Policy", csp);
    headers.set("x-nonce", nonce);
    // Only this proxy says what the header holds; the page opens it only if we sealed it.
    headers.delete(RECOVERY_CODES_HEADER);
    if (codes) headers.set(RECOVERY_CODES_HEADER, codes);
    return NextResponse.next({ request: { headers } });
  });
  // Recovery codes are shown by one page load (lib/login/account-mfa.ts): this one takes them.
  if (codes) response.cookies.set(codesCookie, "", { path: "/account", maxAge: 0, httpOnly: true, sameSite: "strict", secure: loginConfig().secureCookies });
  response.headers.set("Content-Security-Policy", csp);
  const hsts = strictTransportSecurity(settings().APP_URL);
  if (hsts) response.headers.set(hsts.key, hsts.value);
  return response;
}

/** A page load of /account (not a prefetch, which nobody sees). */
function takesRecoveryCodes(request: NextRequest): boolean {
  if (request.method !== "GET" || request.nextUrl.pathname !== "/account") return false;
  return !request.headers.has("next-router-prefetch") && request.headers.get("purpose") !== "prefetch" && request.headers.get("sec-purpose") !== "prefetch";
}

/**
 * The account page's sign-out form, or next-auth's own sign-out route, posted from our pages: the
 * session is about to end at the server. A cross-site post is refused there, and changes nothing here.
 */
function isSignOut(request: NextRequest): boolean {
  const { pathname } = request.nextUrl;
  return (
    request.method === "POST" &&
    (pathname === "/account/sign-out" || pathname === "/api/auth/signout") &&
    isSameOriginPost(request, new URL(settings().APP_URL).origin)
  );
}

async function withSession(request: NextRequest, next: () => NextResponse): Promise<NextResponse> {
  const token = await decodeSession(sessionCookieValue(request.cookies.getAll()));
  // Before any refresh: the sign-out revokes the session's refresh token as it is, and a refresh
  // now would only rotate it first.
  if (isSignOut(request)) return signOut(token?.tokens?.accessToken, next);
  if (!token?.tokens) return next();
  const outcome = await refreshSession(token);
  if (outcome.kind === "ended") return endSession(request, next);
  if (outcome.kind === "refreshed") return keepRefreshed(request, next, outcome.token);
  // The refresh failed, and the access token has expired: UserInfo would refuse it whatever became
  // of the session, which an outage must not end. The refresh is tried again at the next request.
  if (outcome.kind === "deferred" && token.tokens.expiresAt <= Date.now()) return next();
  // A network failure ("unknown") keeps the session: see sessionLiveness.
  if ((await sessionLiveness(token.tokens)) !== "ended") return next();
  // Its refresh token spent by a refresh that another request of the browser began meanwhile (an
  // issuer that lets the login app introspect it says so): the session lives on in that refresh.
  const refreshed = await refreshedMeanwhile(token);
  return refreshed ? keepRefreshed(request, next, refreshed) : endSession(request, next);
}

function signOut(accessToken: string | undefined, next: () => NextResponse): NextResponse {
  // Asking now would find the session alive and remember that; the cookie replayed after this
  // sign-out must be asked about afresh (in this instance at once, elsewhere within
  // SESSION_CHECK_SECONDS).
  if (accessToken) forgetSessionCheck(accessToken);
  // What the account pages sealed for this user (a secret being set up, new recovery codes) goes with the session.
  const response = next();
  for (const name of [enrolmentCookieName(), recoveryCodesCookieName()])
    response.cookies.set(name, "", { path: "/account", maxAge: 0, httpOnly: true, sameSite: "strict", secure: loginConfig().secureCookies });
  return response;
}

/** The session's cookies of the request: the whole one, or next-auth's chunks of a long one. */
const sessionCookiesOf = (request: NextRequest) =>
  request.cookies
    .getAll()
    .filter((cookie) => isSessionCookie(cookie.name))
    .map((cookie) => cookie.name);

function endSession(request: NextRequest, next: () => NextResponse): NextResponse {
  const names = sessionCookiesOf(request);
  for (const name of names) request.cookies.delete(name);
  const isPageLoad = request.method === "GET" && !request.nextUrl.pathname.startsWith("/api/") && request.nextUrl.pathname !== "/login";
  const response = isPageLoad ? NextResponse.redirect(new URL("/login?reason=expired", request.url)) : next();
  for (const name of names) expireCookie(response, name);
  return response;
}

async function keepRefreshed(request: NextRequest, next: () => NextResponse, token: JWT): Promise<NextResponse> {
  // Split as next-auth splits it: a browser drops a cookie over 4 kB, and with it the new tokens.
  const { set, remove } = sessionCookieWrites(await encodeSession(token), sessionCookiesOf(request));
  for (const name of remove) request.cookies.delete(name);
  for (const [name, value] of set) request.cookies.set(name, value);
  const response = next();
  for (const name of remove) expireCookie(response, name);
  for (const [name, value] of set) response.cookies.set(name, value, sessionCookie(SESSION_MAX_AGE));
  return response;
}

/**
 * Deletes a session cookie in the browser. Over https its name carries the `__Secure-` prefix, and
 * a browser ignores any Set-Cookie of such a name without `Secure`, a deletion included (RFC 6265bis
 * §4.1.3.1): `cookies.delete(name)` writes none, so the cookie would stay.
 */
function expireCookie(response: NextResponse, name: string): void {
  response.cookies.set(name, "", sessionCookie(0));
}

/** A session cookie's attributes, as next-auth writes them (Secure over https). */
function sessionCookie(maxAge: number) {
  return { httpOnly: true, sameSite: "lax", secure: loginConfig().secureCookies, path: "/", maxAge } as const;
}
