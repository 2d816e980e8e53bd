import { NextResponse, type NextRequest } from "next/server";
import { decodeSession, encodeSession, refreshSession, SESSION_MAX_AGE, sessionCookieName } from "@/lib/login/session.ts";
import { loginConfig } from "@/lib/login/config.ts";

/**
 * Runs before the login app's pages and next-auth's routes. When the session's access token is
 * about to expire it refreshes it (rotating the refresh token) and rewrites the session cookie,
 * both for the browser and for the page rendering this request. Server components cannot set
 * cookies, so this is the one place where a refresh can be kept. A refused refresh ends the
 * session: the cookie goes and a page load lands on /login with a message.
 */
export async function sessionProxy(request: NextRequest): Promise<NextResponse> {
  const name = sessionCookieName();
  const token = await decodeSession(request.cookies.get(name)?.value);
  if (!token) return NextResponse.next();
  const outcome = await refreshSession(token);
  if (outcome.kind === "unchanged") return NextResponse.next();

  if (outcome.kind === "ended") {
    request.cookies.delete(name);
    const isPageLoad = request.method === "GET" && !request.nextUrl.pathname.startsWith("/api/") && request.nextUrl.pathname !== "/login";
    const response = isPageLoad
      ? NextResponse.redirect(new URL("/login?reason=expired", request.url))
      : NextResponse.next({ request: { headers: request.headers } });
    response.cookies.delete(name);
    return response;
  }

  const value = await encodeSession(outcome.token);
  request.cookies.set(name, value);
  const response = NextResponse.next({ request: { headers: request.headers } });
  response.cookies.set(name, value, { httpOnly: true, sameSite: "lax", secure: loginConfig().secureCookies, path: "/", maxAge: SESSION_MAX_AGE });
  return response;
}
