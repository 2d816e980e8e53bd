import NextAuth from "next-auth";
import type { NextRequest } from "next/server";
import { authOptions, type MfaStepExchange, type SignOutExchange } from "@/lib/login/auth-options.ts";
import { mfaStepCookies, mfaStepCookieValue, openMfaStep } from "@/lib/login/mfa-sign-in.ts";
import { settings } from "@/lib/platform/env.ts";

export interface AuthRouteContext {
  params: Promise<{ nextauth: string[] }>;
}

/**
 * The one provider is Credentials, whose callback is a form POST: next-auth v4 has no answer for
 * another method there and fails with a 500 (and a stack in the log). RFC 9110 §15.5.6 says 405
 * with the methods that work.
 */
export function methodNotAllowed(segments: readonly string[], method: string): Response | undefined {
  if (segments[0] !== "callback" || method === "POST") return undefined;
  return new Response(null, { status: 405, headers: { Allow: "POST", "Cache-Control": "no-store" } });
}

/**
 * next-auth reads a POST's body as JSON whenever its type says JSON, before anything else, and a
 * body that does not parse is its SyntaxError, answered by nobody: a 500 with a stack in the log.
 * Its own forms and browser code post forms; a malformed JSON body is a bad request.
 */
async function malformedJson(req: NextRequest): Promise<Response | undefined> {
  if (req.method !== "POST" || !(req.headers.get("content-type") ?? "").includes("application/json")) return undefined;
  try {
    await req.clone().json();
    return undefined;
  } catch {
    return new Response(null, { status: 400, headers: { "Cache-Control": "no-store" } });
  }
}

/**
 * next-auth's `_log` route writes whatever a request posts (`level`, `code` and the rest) through
 * the server's logger, with no session, CSRF token or limit: anybody could forge next-auth's
 * error lines, at any length. It is how next-auth's browser code reports its own failures,
 * which are not the server's to log: it does not exist here.
 */
const CLIENT_LOG = "_log";

/** Where a sign-out that ended nothing lands: the account page, saying under its "Sign out" that the user is still signed in. */
export const SIGN_OUT_FAILED_PATH = "/account?error=sign_out_failed&form=sign_out";

/**
 * next-auth's sign-out (POST /api/auth/signout), which deletes the session's cookie whatever its
 * `events.signOut` did. When the issuer did not revoke the refresh token (unreachable, a timeout,
 * a failure: see SignOutExchange), the session still lives there and a copy of the cookie would
 * still work: nothing is signed out here either. The answer keeps the cookie and sends the
 * browser to say so, in next-auth's own shape (a redirect, or `{ url }` to its browser code).
 */
async function signOutRoute(req: NextRequest, ctx: AuthRouteContext): Promise<Response> {
  const outcome: SignOutExchange = {};
  const response: Response = await NextAuth(req, ctx, authOptions(undefined, outcome));
  if (outcome.revocation !== "failed") return response;
  // The app's public address, as next-auth's own redirects (NEXTAUTH_URL): the request's is the
  // address the server listens on, behind a proxy not the browser's.
  const url = new URL(SIGN_OUT_FAILED_PATH, settings().APP_URL).href;
  const headers = { "Cache-Control": "no-store" };
  if ((response.headers.get("content-type") ?? "").startsWith("application/json")) return Response.json({ url }, { headers });
  return new Response(null, { status: 302, headers: { ...headers, Location: url } });
}

/**
 * next-auth's routes (/api/auth/*), with the options built for this request. A credentials
 * sign-in reads the step in progress from its sealed cookie and writes back the next one.
 */
export async function authRoute(req: NextRequest, ctx: AuthRouteContext): Promise<Response> {
  const { nextauth } = await ctx.params;
  const refused = methodNotAllowed(nextauth, req.method);
  if (refused) return refused;
  if (nextauth[0] === CLIENT_LOG) return new Response(null, { status: 404, headers: { "Cache-Control": "no-store" } });
  const malformed = await malformedJson(req);
  if (malformed) return malformed;
  if (nextauth[0] === "signout" && req.method === "POST") return signOutRoute(req, ctx);
  if (nextauth[0] !== "callback") return NextAuth(req, ctx, authOptions());
  const mfaStep: MfaStepExchange = { current: await openMfaStep(mfaStepCookieValue(req.cookies.getAll())) };
  const response: Response = await NextAuth(req, ctx, authOptions(mfaStep));
  if (mfaStep.next !== undefined) {
    const existing = req.cookies.getAll().map((cookie) => cookie.name);
    for (const header of await mfaStepCookies(mfaStep.next, existing)) response.headers.append("Set-Cookie", header);
  }
  return response;
}
