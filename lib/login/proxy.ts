import { NextResponse, type NextRequest } from "next/server";
import { decodeSession, encodeSession, refreshSession, SESSION_MAX_AGE, sessionCookieName } from "@/lib/login/session.ts";
import { loginConfig } from "@/lib/login/config.ts";

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
 * Runs before the login app's pages and next-auth's routes (proxy.ts). It sets the pages' CSP
 * with a fresh nonce, and when the session's access token is about to expire it refreshes it
 * (rotating the refresh token) and rewrites the session cookie, both for the browser and for
 * the page rendering this request: server components cannot set cookies, so this is the one
 * place a refresh can be kept. A refused refresh ends the session: the cookie goes and a page
 * load lands on /login with a message.
 */
export async function loginProxy(request: NextRequest): Promise<NextResponse> {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  const csp = contentSecurityPolicy(nonce);
  const response = await withSession(request, () => {
    const headers = new Headers(request.headers);
    headers.set("Content-Security-Policy", csp);
    headers.set("x-nonce", nonce);
    return NextResponse.next({ request: { headers } });
  });
  response.headers.set("Content-Security-Policy", csp);
  return response;
}

async function withSession(request: NextRequest, next: () => NextResponse): Promise<NextResponse> {
  const name = sessionCookieName();
  const token = await decodeSession(request.cookies.get(name)?.value);
  if (!token) return next();
  const outcome = await refreshSession(token);
  if (outcome.kind === "unchanged") return next();

  if (outcome.kind === "ended") {
    request.cookies.delete(name);
    const isPageLoad = request.method === "GET" && !request.nextUrl.pathname.startsWith("/api/") && request.nextUrl.pathname !== "/login";
    const response = isPageLoad ? NextResponse.redirect(new URL("/login?reason=expired", request.url)) : next();
    response.cookies.delete(name);
    return response;
  }

  const value = await encodeSession(outcome.token);
  request.cookies.set(name, value);
  const response = next();
  response.cookies.set(name, value, { httpOnly: true, sameSite: "lax", secure: loginConfig().secureCookies, path: "/", maxAge: SESSION_MAX_AGE });
  return response;
}
