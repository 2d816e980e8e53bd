import { MAX_PASSWORD_INPUT_LENGTH } from "@/lib/platform/password-policy.ts";
import { settings } from "@/lib/platform/env.ts";
import { isSameOriginPost } from "@/lib/login/same-origin.ts";
import { completePasswordReset, requestPasswordReset } from "@/lib/login/recovery.ts";
import { confirmEmailAddress, linkIssuer } from "@/lib/login/email-verification.ts";
import { forgetAllSessionChecks } from "@/lib/login/session-check.ts";
import { RETRYABLE_VERIFY_ERRORS } from "@/lib/login/recovery-messages.ts";

/**
 * The recovery pages' forms, posted without script as with it (POST, then a 303 to the page that
 * says what happened). A password travels in a request body only, never in a URL; the link's
 * token, which came in the URL, may go back into one.
 */

const NO_STORE = { "Cache-Control": "no-store" };
// A form's fields are read whole up to the longest password field the server takes; longer ones
// are cut here, and then too long for the policy too (lib/platform/password-policy.ts), so no cut
// password is ever set.
const MAX_FIELD = MAX_PASSWORD_INPUT_LENGTH;

/** A 303 to a path of this app. */
function seeOther(path: string): Response {
  return new Response(null, { status: 303, headers: { Location: new URL(path, settings().APP_URL).toString(), ...NO_STORE } });
}

async function fields(req: Request): Promise<((name: string) => string) | null> {
  // A form from another site must not set anyone's password or spend their link (CSRF).
  if (!isSameOriginPost(req, new URL(settings().APP_URL).origin)) return null;
  const form = await req.formData().catch(() => undefined);
  return (name) => {
    const value = form?.get(name);
    return typeof value === "string" ? value.slice(0, MAX_FIELD) : "";
  };
}

const forbidden = () => new Response("Forbidden", { status: 403, headers: NO_STORE });

/** POST /forgot-password/submit: `identifier` (username or email). */
export async function forgotPasswordSubmit(req: Request): Promise<Response> {
  const field = await fields(req);
  if (!field) return forbidden();
  const identifier = field("identifier").trim();
  if (identifier === "") return seeOther("/forgot-password?error=missing");
  const outcome = await requestPasswordReset(identifier);
  return seeOther(outcome === "sent" ? "/forgot-password?sent=1" : `/forgot-password?error=${outcome}`);
}

/** POST /reset-password/submit: `token`, `password` and `confirm`. */
export async function resetPasswordSubmit(req: Request): Promise<Response> {
  const field = await fields(req);
  if (!field) return forbidden();
  const token = field("token");
  const back = (extra: Record<string, string>) => seeOther(`/reset-password?${new URLSearchParams({ token, ...extra })}`);
  if (token === "") return seeOther("/reset-password?error=invalid_link");
  const password = field("password");
  if (password === "") return back({ error: "missing" });
  if (password !== field("confirm")) return back({ error: "mismatch" });
  const outcome = await completePasswordReset(token, password);
  if (outcome.ok) {
    // The issuer ended every session of the user's: none is taken for alive from this app's cache
    // (the same as after a password change on the account page).
    forgetAllSessionChecks();
    return seeOther("/login?reason=password_reset");
  }
  // The rule's code only (the server's own words are shown from it): never the password.
  return back(outcome.error === "policy" ? { error: "policy", rule: outcome.rule ?? "" } : { error: outcome.error });
}

/**
 * POST /verify-email/submit: `token`, and the `tenant` and `workspace` the link named. The page
 * it goes back to names them again when they are not this app's own (it then offers no link to
 * this app's account page).
 */
export async function verifyEmailSubmit(req: Request): Promise<Response> {
  const field = await fields(req);
  if (!field) return forbidden();
  const target = linkIssuer(field("tenant"), field("workspace"));
  if (!target) return seeOther("/verify-email?error=invalid_link");
  const outcome = await confirmEmailAddress(field("token"), target.issuer);
  const page = new URLSearchParams(outcome === "confirmed" ? { done: "1" } : { error: outcome });
  // A failure to try again (the server unreachable or busy): the page offers the button again.
  if (RETRYABLE_VERIFY_ERRORS.has(outcome)) page.set("token", field("token"));
  if (!target.own) for (const name of ["tenant", "workspace"]) page.set(name, field(name));
  return seeOther(`/verify-email?${page.toString()}`);
}
