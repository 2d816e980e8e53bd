import { MAX_PASSWORD_INPUT_LENGTH } from "@/lib/platform/password-policy.ts";
import { settings } from "@/lib/platform/env.ts";
import { currentSession } from "@/lib/login/current-session.ts";
import { isSameOriginPost } from "@/lib/login/same-origin.ts";
import { forgetAllSessionChecks } from "@/lib/login/session-check.ts";
import { setCookieHeader } from "@/lib/login/sealed-cookie.ts";
import {
  confirmEnrolment,
  ENROLMENT_PATH,
  ENROLMENT_SECONDS,
  enrolmentCookieName,
  newRecoveryCodes,
  openEnrolment,
  RECOVERY_CODES_SECONDS,
  recoveryCodesCookieName,
  sealRecoveryCodes,
  startEnrolment,
  turnOff,
} from "@/lib/login/account-mfa.ts";
import {
  submitEndOtherSessions,
  submitEndSession,
  submitPasswordChange,
  submitProfile,
  submitCancelEmailChange,
  type AccountOutcome,
} from "@/lib/login/account-page.ts";

/**
 * The account page's forms, posted as plain HTML forms with or without script (POST
 * /account/submit, the form's `action` field saying which), then a 303 back to the page with a
 * notice or an error code. Server actions cannot do it without script here: our pages send
 * `Referrer-Policy: no-referrer`, so a browser's form post says `Origin: null`, which Next's
 * action check refuses; this route makes the same-origin check the sign-in form makes. A
 * password travels in the request body only; the redirect carries codes, never a typed value.
 * Two-step verification's forms post here too: the new secret waits in the sealed enrolment
 * cookie, and recovery codes to show once in a sealed cookie the next /account load takes.
 */

const NO_STORE = { "Cache-Control": "no-store" };
// A form's fields are read whole up to the longest password field the server takes; longer ones
// are cut here, and then too long for the policy too (lib/platform/password-policy.ts), so no cut
// password is ever set.
const MAX_FIELD = MAX_PASSWORD_INPUT_LENGTH;

/** Notices of two-step verification's forms: the page opens at its section. */
const TWO_STEP_NOTICES = new Set(["two_step_on", "codes_renewed", "two_step_off"]);

/** Notices after which other browsers' sessions may have ended. */
const ENDS_SESSIONS = new Set(["session_ended", "others_ended", "password_changed"]);

function seeOther(path: string, cookies: readonly string[] = []): Response {
  const headers = new Headers({ Location: new URL(path, settings().APP_URL).toString(), ...NO_STORE });
  for (const cookie of cookies) headers.append("Set-Cookie", cookie);
  return new Response(null, { status: 303, headers });
}

/**
 * Where the browser goes after a form: the page with its notice (at its section), or with the
 * form's error, which takes the focus as the page loads and so is scrolled to. Not with a
 * fragment then: a page opened at one focuses nothing (the HTML standard's autofocus).
 */
export function destinationOf(outcome: AccountOutcome): string {
  if ("notice" in outcome) {
    const section = outcome.notice.endsWith("ended") ? "#sessions" : TWO_STEP_NOTICES.has(outcome.notice) ? "#two-step" : "";
    return `/account?notice=${outcome.notice}${section}`;
  }
  // The code was wrong: the set-up page again, with its secret and QR code.
  if (outcome.form === "enrolment" && outcome.error !== "enrolment_expired") return `${ENROLMENT_PATH}?${new URLSearchParams({ error: outcome.error })}`;
  return `/account?${new URLSearchParams({ error: outcome.error, form: outcome.form })}`;
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
  if (TWO_STEP_ACTIONS.has(action)) {
    // The secret being set up and the new recovery codes are sealed for this user only.
    const { destination, cookies } = await submitTwoStep(req, { token, holder: session.sub ?? "" }, action, field);
    return seeOther(destination, cookies);
  }
  const outcome: AccountOutcome =
    action === "change_password"
      ? await submitPasswordChange(token, field("current_password"), field("new_password"), field("confirm_password"), field("otp"))
      : action === "save_profile"
        ? await submitProfile(token, field("name"), field("email"), field("current_password"), field("otp"))
        : action === "cancel_email_change"
          ? await submitCancelEmailChange(token)
          : action === "end_session"
            ? await submitEndSession(token, field("session"))
            : action === "end_other_sessions"
              ? await submitEndOtherSessions(token)
              : { error: "unavailable", form: "sessions" };
  // The ended browsers' next requests ask the authorization server again (lib/login/session-check.ts).
  if ("notice" in outcome && ENDS_SESSIONS.has(outcome.notice)) forgetAllSessionChecks();
  return seeOther(destinationOf(outcome));
}

const TWO_STEP_ACTIONS = new Set(["start_two_step", "confirm_two_step", "turn_off_two_step", "new_recovery_codes"]);

const enrolmentCookie = (value: string, maxAge: number) => setCookieHeader({ name: enrolmentCookieName(), path: "/account", maxAge }, value);

async function codesCookie(codes: readonly string[], holder: string): Promise<string> {
  return setCookieHeader({ name: recoveryCodesCookieName(), path: "/account", maxAge: RECOVERY_CODES_SECONDS }, await sealRecoveryCodes(codes, holder));
}

/** The signed-in user of a two-step form: the session's access token, and whose the sealed cookies are. */
interface TwoStepCaller {
  token: string;
  holder: string;
}

function cookieOf(req: Request, name: string): string | undefined {
  for (const pair of (req.headers.get("cookie") ?? "").split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** Two-step verification's forms: what each led to, and the cookies it sets. */
async function submitTwoStep(
  req: Request,
  caller: TwoStepCaller,
  action: string,
  field: (name: string) => string,
): Promise<{ destination: string; cookies: string[] }> {
  const { outcome, cookies = [] } = await twoStepOutcome(req, caller, action, field);
  return { destination: outcome === "enrolment" ? ENROLMENT_PATH : destinationOf(outcome), cookies };
}

async function twoStepOutcome(
  req: Request,
  { token, holder }: TwoStepCaller,
  action: string,
  field: (name: string) => string,
): Promise<{ outcome: AccountOutcome | "enrolment"; cookies?: string[] }> {
  if (action === "start_two_step") {
    const started = await startEnrolment(token, holder, field("password"));
    if (!started.ok) return { outcome: { error: started.error, form: "set_up" } };
    // The set-up page, with the new secret.
    return { outcome: "enrolment", cookies: [enrolmentCookie(started.sealed, ENROLMENT_SECONDS)] };
  }
  if (action === "confirm_two_step") {
    const enrolment = await openEnrolment(cookieOf(req, enrolmentCookieName()), holder);
    const state = await confirmEnrolment(token, enrolment, field("otp"));
    if (state.error || !state.recoveryCodes) return { outcome: { error: state.error ?? "unavailable", form: "enrolment" } };
    return { outcome: { notice: "two_step_on" }, cookies: [enrolmentCookie("", 0), await codesCookie(state.recoveryCodes, holder)] };
  }
  if (action === "new_recovery_codes") {
    const state = await newRecoveryCodes(token, field("proof"));
    if (state.error || !state.recoveryCodes) return { outcome: { error: state.error ?? "unavailable", form: "new_codes" } };
    return { outcome: { notice: "codes_renewed" }, cookies: [await codesCookie(state.recoveryCodes, holder)] };
  }
  const state = await turnOff(token, field("proof"));
  if (state.error) return { outcome: { error: state.error, form: "turn_off" } };
  return { outcome: { notice: "two_step_off" } };
}
