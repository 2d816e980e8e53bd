import { settings } from "@/lib/platform/env.ts";
import { currentSession } from "@/lib/login/current-session.ts";
import { isSameOriginPost } from "@/lib/login/form-sign-in.ts";
import { forgetAllSessionChecks } from "@/lib/login/session-check.ts";
import {
  submitEndOtherSessions,
  submitEndSession,
  submitPasswordChange,
  submitProfile,
  type AccountForm,
  type AccountOutcome,
} from "@/lib/login/account-page.ts";

/**
 * The account page's forms, posted as plain HTML forms with or without script (POST
 * /account/submit, the form's `action` field saying which), then a 303 back to the page with a
 * notice or an error code. Server actions cannot do it without script here: our pages send
 * `Referrer-Policy: no-referrer`, so a browser's form post says `Origin: null`, which Next's
 * action check refuses; this route makes the same-origin check the sign-in form makes. A
 * password travels in the request body only; the redirect carries codes, never a typed value.
 */

const NO_STORE = { "Cache-Control": "no-store" };
const MAX_FIELD = 1024;

/** Where each form's section is on the page. */
const SECTION: Readonly<Record<AccountForm, string>> = { password: "password", profile: "details", sessions: "sessions" };

/** Notices after which other browsers' sessions may have ended. */
const ENDS_SESSIONS = new Set(["session_ended", "others_ended", "password_changed"]);

function seeOther(path: string): Response {
  return new Response(null, { status: 303, headers: { Location: new URL(path, settings().APP_URL).toString(), ...NO_STORE } });
}

/** Where the browser goes after a form: the page with its notice, or the form's section with its error. */
export function destinationOf(outcome: AccountOutcome): string {
  if ("notice" in outcome) return `/account?notice=${outcome.notice}${outcome.notice.endsWith("ended") ? "#sessions" : ""}`;
  return `/account?${new URLSearchParams({ error: outcome.error, form: outcome.form })}#${SECTION[outcome.form]}`;
}

export async function accountFormSubmit(req: Request): Promise<Response> {
  // A form from another site must not end anyone's sessions or change their password (CSRF).
  if (!isSameOriginPost(req, new URL(settings().APP_URL).origin)) return new Response("Forbidden", { status: 403, headers: NO_STORE });
  const session = await currentSession();
  if (!session) return seeOther("/login");
  const form = await req.formData().catch(() => undefined);
  const field = (name: string) => {
    const value = form?.get(name);
    return typeof value === "string" ? value.slice(0, MAX_FIELD) : "";
  };
  const token = session.tokens.accessToken;
  const action = field("action");
  const outcome: AccountOutcome =
    action === "change_password"
      ? await submitPasswordChange(token, field("current_password"), field("new_password"), field("confirm_password"))
      : action === "save_profile"
        ? await submitProfile(token, field("name"), field("email"))
        : action === "end_session"
          ? await submitEndSession(token, field("session"))
          : action === "end_other_sessions"
            ? await submitEndOtherSessions(token)
            : { error: "unavailable", form: "sessions" };
  // The ended browsers' next requests ask the authorization server again (lib/login/session-check.ts).
  if ("notice" in outcome && ENDS_SESSIONS.has(outcome.notice)) forgetAllSessionChecks();
  return seeOther(destinationOf(outcome));
}
