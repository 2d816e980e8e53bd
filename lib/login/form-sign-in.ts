import NextAuth from "next-auth";
import { cookies } from "next/headers";
import { NextRequest } from "next/server";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import { authOptions } from "@/lib/login/auth-options.ts";
import { authRoute, SIGN_OUT_FAILED_PATH } from "@/lib/login/auth-route.ts";
import { safeCallbackPath, validatedCallbackPath } from "@/lib/login/callback-url.ts";
import { NEXT_STEP } from "@/lib/login/messages.ts";
import { mfaStepCookies } from "@/lib/login/mfa-sign-in.ts";
import { isSameOriginPost } from "@/lib/login/same-origin.ts";

/** The fields of the password form and of each later step (auth-options.ts's `credentials`). */
const CREDENTIAL_FIELDS = ["username", "password", "otp", "recoveryCode", "done"] as const;

const NO_STORE = { "Cache-Control": "no-store" };

/** The first `name=value` of a Set-Cookie header, decoded as next-auth encoded it. */
function cookiePair(setCookie: string): [string, string] | undefined {
  const [pair = ""] = setCookie.split(";");
  const eq = pair.indexOf("=");
  if (eq <= 0) return undefined;
  try {
    return [pair.slice(0, eq).trim(), decodeURIComponent(pair.slice(eq + 1))];
  } catch {
    return undefined;
  }
}

/**
 * next-auth's own CSRF token, for a request this route makes to next-auth on the browser's
 * behalf: its csrf route reuses the browser's cookie or makes a new one, which goes to the
 * request's cookies (next-auth reads them from `next/headers`, not from the request it is handed)
 * and to the browser.
 */
async function nextAuthCsrfToken(appUrl: string): Promise<string> {
  const csrf = await NextAuth(new NextRequest(new URL("/api/auth/csrf", appUrl)), { params: Promise.resolve({ nextauth: ["csrf"] }) }, authOptions());
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const jar = await cookies();
  for (const header of csrf.headers.getSetCookie()) {
    const pair = cookiePair(header);
    if (pair) jar.set(pair[0], pair[1], { httpOnly: true, sameSite: "lax", path: "/", secure: appUrl.startsWith("https://") });
  }
  return csrfToken;
}

/** A form post to next-auth's route `action` (`/api/auth/{action}`), made on the browser's behalf with its cookies. */
function postToNextAuth(appUrl: string, action: string[], req: Request, body: URLSearchParams): Promise<Response> {
  return authRoute(
    new NextRequest(new URL(`/api/auth/${action.join("/")}`, appUrl), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: req.headers.get("cookie") ?? "" },
      body,
    }),
    { params: Promise.resolve({ nextauth: action }) },
  );
}

/**
 * Where the browser goes after next-auth answered the credentials callback with `location`;
 * `sent.recoveryCode`: the submit came from the recovery code's form, which a failure goes back to.
 */
export function destinationAfter(location: string | null, callbackPath: string, appUrl: string, sent: { recoveryCode?: boolean } = {}): string {
  const url = new URL(location ?? "/api/auth/error?error=refused", appUrl);
  const back = (extra: Record<string, string>) => `/login?${new URLSearchParams({ ...extra, callbackUrl: callbackPath })}`;
  if (url.origin === new URL(appUrl).origin && !url.pathname.startsWith("/api/auth/")) return validatedCallbackPath(url.href);
  const code = url.pathname === "/api/auth/error" ? (url.searchParams.get("error") ?? "refused") : "refused";
  if (code === NEXT_STEP) return back({});
  if (code === "mfa_expired") return back({ reason: "mfa_expired" });
  // The app's codes are refused until a recovery code passes: the recovery code's form, saying why.
  if (code === "otp_locked") return back({ method: "recovery-code", error: code });
  if (sent.recoveryCode) return back({ method: "recovery-code", error: code === "invalid_code" ? "invalid_recovery_code" : code });
  return back({ error: code });
}

/**
 * The sign-in form posted without script (POST /login/submit): the same next-auth credentials
 * sign-in as the script's `signIn("credentials")`, run here, then a 303 to the next page. The
 * password travels in the request body only, never in a URL.
 */
export async function formSignIn(req: NextRequest): Promise<Response> {
  const appUrl = settings().APP_URL;
  if (!isSameOriginPost(req, new URL(appUrl).origin)) return new Response("Forbidden", { status: 403, headers: NO_STORE });
  const form = await req.formData().catch(() => undefined);
  const callbackField = form?.get("callbackUrl");
  const callbackPath = safeCallbackPath(typeof callbackField === "string" ? callbackField : undefined, appUrl);
  const body = new URLSearchParams();
  for (const name of CREDENTIAL_FIELDS) {
    const value = form?.get(name);
    if (typeof value === "string") body.set(name, value);
  }

  body.set("csrfToken", await nextAuthCsrfToken(appUrl));
  body.set("callbackUrl", callbackPath);

  const callback = await postToNextAuth(appUrl, ["callback", "credentials"], req, body);
  const sent = { recoveryCode: typeof form?.get("recoveryCode") === "string" };
  const headers = new Headers({ ...NO_STORE, Location: destinationAfter(callback.headers.get("location"), callbackPath, appUrl, sent) });
  for (const setCookie of callback.headers.getSetCookie()) headers.append("Set-Cookie", setCookie);
  return new Response(null, { status: 303, headers });
}

/** The names of the request's cookies. */
function cookieNames(req: Request): string[] {
  return (req.headers.get("cookie") ?? "")
    .split(";")
    .map((pair) => pair.slice(0, Math.max(pair.indexOf("="), 0)).trim())
    .filter(Boolean);
}

/**
 * "Cancel and start again" at a step after the password (POST /login/cancel), with or without
 * script: forgets the step in progress (its sealed cookie and chunks), then a 303 to the password
 * form. A plain form post and not a server action, which Next refuses from our pages' `Origin:
 * null` (see isSameOriginPost).
 */
export async function cancelSignInStep(req: Request): Promise<Response> {
  const appUrl = settings().APP_URL;
  if (!isSameOriginPost(req, new URL(appUrl).origin)) return new Response("Forbidden", { status: 403, headers: NO_STORE });
  const form = await req.formData().catch(() => undefined);
  const callbackField = form?.get("callbackUrl");
  const callbackPath = safeCallbackPath(typeof callbackField === "string" ? callbackField : undefined, appUrl);
  const headers = new Headers({ ...NO_STORE, Location: `/login?${new URLSearchParams({ callbackUrl: callbackPath })}` });
  for (const setCookie of await mfaStepCookies(null, cookieNames(req))) headers.append("Set-Cookie", setCookie);
  return new Response(null, { status: 303, headers });
}

/** Where a sign-out lands: the sign-in form, saying so. */
export const SIGNED_OUT_PATH = "/login?reason=signed_out";

/**
 * The account page's "Sign out" (POST /account/sign-out), a plain form with or without script:
 * next-auth's sign-out run here (which revokes the refresh token at the issuer, see
 * auth-options.ts's `events.signOut`, and deletes the session cookie), then a 303 to the sign-in
 * form. A cross-site form is refused (403) with nothing ended. The proxy (lib/login/proxy.ts) does
 * the rest of a sign-out on the way in, as for next-auth's own route.
 */
export async function formSignOut(req: NextRequest): Promise<Response> {
  const appUrl = settings().APP_URL;
  if (!isSameOriginPost(req, new URL(appUrl).origin)) return new Response("Forbidden", { status: 403, headers: NO_STORE });
  const body = new URLSearchParams({ csrfToken: await nextAuthCsrfToken(appUrl), callbackUrl: SIGNED_OUT_PATH });
  const signOut = await postToNextAuth(appUrl, ["signout"], req, body);
  // next-auth answers a sign-out with a redirect to the callback; anything else (its CSRF check
  // refused, a failure, the issuer not reached: authRoute's own redirect, logged where it was
  // asked) ended nothing, and the page must not say otherwise.
  const location = signOut.headers.get("location");
  const landing = signOut.status === 302 && location !== null ? URL.parse(location, appUrl)?.href : undefined;
  if (landing !== new URL(SIGNED_OUT_PATH, appUrl).href) {
    if (landing !== new URL(SIGN_OUT_FAILED_PATH, appUrl).href)
      logger.error({ event: "logout.failed", status: signOut.status, location }, "next-auth did not sign the session out");
    return new Response(null, { status: 303, headers: { ...NO_STORE, Location: SIGN_OUT_FAILED_PATH } });
  }
  const headers = new Headers({ ...NO_STORE, Location: SIGNED_OUT_PATH });
  for (const setCookie of signOut.headers.getSetCookie()) headers.append("Set-Cookie", setCookie);
  return new Response(null, { status: 303, headers });
}
