import NextAuth from "next-auth";
import { cookies } from "next/headers";
import { NextRequest } from "next/server";
import { settings } from "@/lib/platform/env.ts";
import { authOptions } from "@/lib/login/auth-options.ts";
import { authRoute } from "@/lib/login/auth-route.ts";
import { safeCallbackPath, validatedCallbackPath } from "@/lib/login/callback-url.ts";
import { NEXT_STEP } from "@/lib/login/messages.ts";

/** The fields of the password form and of each later step (auth-options.ts's `credentials`). */
const CREDENTIAL_FIELDS = ["username", "password", "otp", "recoveryCode", "done"] as const;

const NO_STORE = { "Cache-Control": "no-store" };

/**
 * A cross-site form must not sign the browser in to an account of the attacker's choosing (login
 * CSRF). This route answers next-auth's CSRF check on the browser's behalf, so it makes its own:
 * the browser says where the form came from. Our pages send `Referrer-Policy: no-referrer`, under
 * which a browser sends `Origin: null`; Sec-Fetch-Site then says it (a browser without it is refused).
 */
export function isSameOriginPost(req: Request, appOrigin: string): boolean {
  const origin = req.headers.get("origin");
  if (origin && origin !== "null") return origin === appOrigin;
  return req.headers.get("sec-fetch-site") === "same-origin";
}

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

/** Where the browser goes after next-auth answered the credentials callback with `location`. */
export function destinationAfter(location: string | null, callbackPath: string, appUrl: string): string {
  const url = new URL(location ?? "/api/auth/error?error=refused", appUrl);
  const back = (extra: Record<string, string>) => `/login?${new URLSearchParams({ ...extra, callbackUrl: callbackPath })}`;
  if (url.origin === new URL(appUrl).origin && !url.pathname.startsWith("/api/auth/")) return validatedCallbackPath(url.href);
  const code = url.pathname === "/api/auth/error" ? (url.searchParams.get("error") ?? "refused") : "refused";
  if (code === NEXT_STEP) return back({});
  if (code === "mfa_expired") return back({ reason: "mfa_expired" });
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

  // next-auth's own CSRF token: its csrf route reuses the browser's cookie or makes a new one,
  // which goes to the request's cookies (read by the callback below) and to the browser.
  const csrf = await NextAuth(new NextRequest(new URL("/api/auth/csrf", appUrl)), { params: Promise.resolve({ nextauth: ["csrf"] }) }, authOptions());
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const jar = await cookies();
  for (const header of csrf.headers.getSetCookie()) {
    const pair = cookiePair(header);
    if (pair) jar.set(pair[0], pair[1], { httpOnly: true, sameSite: "lax", path: "/", secure: appUrl.startsWith("https://") });
  }
  body.set("csrfToken", csrfToken);
  body.set("callbackUrl", callbackPath);

  const callback = await authRoute(
    new NextRequest(new URL("/api/auth/callback/credentials", appUrl), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: req.headers.get("cookie") ?? "" },
      body,
    }),
    { params: Promise.resolve({ nextauth: ["callback", "credentials"] }) },
  );
  const headers = new Headers({ ...NO_STORE, Location: destinationAfter(callback.headers.get("location"), callbackPath, appUrl) });
  for (const setCookie of callback.headers.getSetCookie()) headers.append("Set-Cookie", setCookie);
  return new Response(null, { status: 303, headers });
}
