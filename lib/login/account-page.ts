import { AccountApiError, changePassword, endOtherSessions, endSession, getProfile, updateProfile, type PasswordRules } from "@/lib/login/account-api.ts";
import { SESSION_ENDED_MESSAGE } from "@/lib/login/messages.ts";

/**
 * What the account page's sessions, password and activity sections say and do, over the account
 * API (lib/login/account-api.ts). The forms post to `/account/submit` (account-forms.ts), with or
 * without script; a password goes in a request body only, never in a URL.
 */

/** Which form of the account page an outcome belongs to (its section shows the message). */
export type AccountForm = "password" | "profile" | "sessions" | "set_up" | "enrolment" | "turn_off" | "new_codes";

/**
 * What a form of the account page led to: a notice for the whole page, or an error code for its
 * form, each carried back in the redirect's query (`/account?notice=…`, `?error=…&form=…`). Codes
 * only: no value typed into a form, and never a password, goes into a URL.
 */
export type AccountOutcome = { notice: string } | { error: string; form: AccountForm };

/** Notices the page shows after a form that redirected back to it (`/account?notice=…`). */
export const ACCOUNT_NOTICES: Readonly<Record<string, string>> = {
  session_ended: "That session has been signed out.",
  others_ended: "You've been signed out of every other session.",
  password_changed: "Your password has been changed, and every other session has been signed out.",
  profile_saved: "Your details have been saved.",
  email_pending: "We've sent a link to your new email address. It becomes your address once you follow that link.",
  email_change_cancelled: "The change of your email address is cancelled: its link no longer works.",
  two_step_on: "Two-step verification is on. Signing in now asks for a code from your authenticator app.",
  codes_renewed: "You have new recovery codes. The ones you had before no longer work.",
  two_step_off: "Two-step verification is off.",
};

/** The notice for `?notice=`, or none for anything else. */
export function accountNotice(code: string | string[] | undefined): string | undefined {
  return typeof code === "string" && Object.hasOwn(ACCOUNT_NOTICES, code) ? ACCOUNT_NOTICES[code] : undefined;
}

const UNAVAILABLE = "This can't be done right now. Please try again in a moment.";

/** What each error code says; `too_short` and `too_long` are worded with the issuer's rules. */
const ACCOUNT_ERRORS: Readonly<Record<string, string>> = {
  missing_current: "Enter your current password.",
  missing_new: "Enter a new password.",
  mismatch: "The new passwords don't match.",
  wrong_password: "Your current password is not right.",
  common: "That password is too common. Choose one that is harder to guess.",
  contains_username: "That password is too close to your username. Choose something else.",
  contains_email: "That password is too close to your email address. Choose something else.",
  policy: "That password can't be used. Choose another.",
  too_many_attempts: "Too many wrong passwords. Please wait a few minutes before trying again.",
  missing_email: "Enter your email address.",
  missing_current_for_email: "Enter your current password to change your email address.",
  invalid_name: "That name can't be used: at most 200 characters, on one line.",
  invalid_email: "That doesn't look like an email address.",
  email_unavailable: "Your email address can't be changed right now.",
  too_many_mails: "Too many confirmation emails this hour. Please try again later.",
  mail_not_sent: "The confirmation email couldn't be sent, so your address is unchanged. Please try again later.",
  session_gone: "That session has already ended.",
  wrong_code: "That code or password didn't work. Please try again.",
  code_format: "Enter the 6-digit code your authenticator app shows.",
  missing_proof: "Enter a current code or your password.",
  code_required: "You signed in without a code this time, so your password can't confirm this. Enter the 6-digit code your authenticator app shows.",
  password_and_code: "You signed in without a code this time, so this needs the 6-digit code your authenticator app shows as well as your password.",
  codes_locked: "Too many wrong codes in a row, so codes from your authenticator app are turned off. Sign out, sign in with a recovery code, then try again.",
  enrolment_expired: "The setup took too long. Please start again.",
  too_many_codes: "Too many wrong codes. Please wait a few minutes before trying again.",
  otp_locked:
    "Too many wrong codes in a row, so codes from your authenticator app are turned off. Confirm with your password; signing in once with a recovery code turns the codes back on.",
  ended: SESSION_ENDED_MESSAGE,
  // The header's "Sign out" (lib/login/auth-route.ts): nothing was ended, and the page must say so.
  sign_out_failed: "We couldn't sign you out, so you're still signed in. Please try again in a moment.",
  unavailable: UNAVAILABLE,
};

/** The message for an error code of the account page's forms. */
export function accountError(code: string | string[] | undefined, rules: PasswordRules): string | undefined {
  if (typeof code !== "string") return undefined;
  if (code === "too_short") return `The password must have at least ${rules.minLength} characters.`;
  if (code === "too_long") return `The password must have at most ${rules.maxLength} characters.`;
  return Object.hasOwn(ACCOUNT_ERRORS, code) ? ACCOUNT_ERRORS[code] : UNAVAILABLE;
}

/** Errors after which the password and profile forms ask for a code (the session did not pass the second factor). */
const CODE_ERRORS = new Set(["password_and_code", "wrong_code", "code_format", "codes_locked"]);

/**
 * Whether the password or profile form asks for a current code as well as the password: the user
 * has two-step verification on and this session's sign-in did not pass it (`passedCode`: its ID
 * token's `amr` has `mfa`; without, the user turned it on since), or the server said so for that form.
 */
export function asksForCode(twoStepOn: boolean, passedCode: boolean, error: string | string[] | undefined, form: boolean): boolean {
  if (form && typeof error === "string" && CODE_ERRORS.has(error)) return true;
  return twoStepOn && !passedCode;
}

/** A code field's value, or the error code it earns: six digits (spaces allowed, as apps show them). */
function codeOf(otp: string): { otp?: string; error?: string } {
  const code = otp.replace(/\s/g, "");
  if (code === "") return {};
  return /^\d{6}$/.test(code) ? { otp: code } : { error: "code_format" };
}

/** What the API's answers about a code mean on the password and profile forms. */
function codeFailure(err: unknown): string | undefined {
  if (!(err instanceof AccountApiError)) return undefined;
  if (err.reason === "code_required") return "password_and_code";
  if (err.reason === "wrong_code") return "wrong_code";
  if (err.reason === "otp_locked") return "codes_locked";
  return undefined;
}

function failureCode(err: unknown): string {
  if (!(err instanceof AccountApiError)) return "unavailable";
  if (err.reason === "ended" || err.reason === "too_many_attempts") return err.reason;
  if (err.reason === "not_found") return "session_gone";
  return "unavailable";
}

/** The rules a new password must follow, in words, shown before submitting. */
export function rulesInWords(rules: PasswordRules): string[] {
  const words = [`At least ${rules.minLength} characters. Longer is stronger: a few unrelated words make a good password.`];
  const rejects = new Set(rules.rejects);
  if (rejects.has("common")) words.push("Not a commonly used password.");
  if (rejects.has("username") || rejects.has("email")) words.push("Not built on your username or email address.");
  return words;
}

const POLICY_RULES = new Set(["too_short", "too_long", "common", "contains_username", "contains_email"]);

/** The change-password form: the current password, the new one twice, and a code when the session needs one. */
export async function submitPasswordChange(accessToken: string, current: string, next: string, confirm: string, otp = ""): Promise<AccountOutcome> {
  const fail = (error: string): AccountOutcome => ({ error, form: "password" });
  if (!current) return fail("missing_current");
  if (!next) return fail("missing_new");
  if (next !== confirm) return fail("mismatch");
  const code = codeOf(otp);
  if (code.error) return fail(code.error);
  try {
    await changePassword(accessToken, current, next, code.otp);
    return { notice: "password_changed" };
  } catch (err) {
    const failure = codeFailure(err);
    if (failure) return fail(failure);
    if (err instanceof AccountApiError && err.reason === "wrong_password") return fail("wrong_password");
    if (err instanceof AccountApiError && err.reason === "policy") return fail(err.rule && POLICY_RULES.has(err.rule) ? err.rule : "policy");
    return fail(failureCode(err));
  }
}

/**
 * The profile form: the name changes at once, a new email once its owner follows the mailed link.
 * A new email needs the current password (the address is where password resets go).
 */
export async function submitProfile(accessToken: string, name: string, email: string, currentPassword = "", otp = ""): Promise<AccountOutcome> {
  const fail = (error: string): AccountOutcome => ({ error, form: "profile" });
  const nextName = name.trim();
  const nextEmail = email.trim();
  if (!nextEmail) return fail("missing_email");
  try {
    const current = await getProfile(accessToken);
    const changes: { name?: string | null; email?: string; currentPassword?: string; otp?: string } = {};
    if (nextName !== (current.name ?? "")) changes.name = nextName === "" ? null : nextName;
    // Without the password the API says which is missing or wrong: the address or the password.
    if (nextEmail.toLowerCase() !== (current.email ?? "").toLowerCase() && nextEmail !== current.pendingEmail) {
      const code = codeOf(otp);
      if (code.error) return fail(code.error);
      Object.assign(changes, { email: nextEmail }, currentPassword ? { currentPassword } : {}, code.otp ? { otp: code.otp } : {});
    }
    if (Object.keys(changes).length === 0) return { notice: "profile_saved" };
    const saved = await updateProfile(accessToken, changes);
    return { notice: changes.email !== undefined && saved.pendingEmail !== null ? "email_pending" : "profile_saved" };
  } catch (err) {
    const failure = codeFailure(err);
    if (failure) return fail(failure);
    if (err instanceof AccountApiError && err.reason === "invalid") return fail(invalidProfileField(err.description));
    if (err instanceof AccountApiError && err.reason === "conflict") return fail("email_unavailable");
    if (err instanceof AccountApiError && err.reason === "refused" && err.description === "temporarily_unavailable") return fail("mail_not_sent");
    if (err instanceof AccountApiError && err.reason === "wrong_password") return fail("wrong_password");
    if (err instanceof AccountApiError && err.reason === "too_many_attempts")
      return fail(err.description === "too_many_attempts" ? "too_many_attempts" : "too_many_mails");
    return fail(failureCode(err));
  }
}

function invalidProfileField(description = ""): string {
  if (description.startsWith("name")) return "invalid_name";
  return description.startsWith("current_password") ? "missing_current_for_email" : "invalid_email";
}

/** "Cancel change" beside a pending address: the current address again, which spends its link. */
export async function submitCancelEmailChange(accessToken: string): Promise<AccountOutcome> {
  try {
    const current = await getProfile(accessToken);
    if (current.pendingEmail !== null && current.email !== null) await updateProfile(accessToken, { email: current.email });
    return { notice: "email_change_cancelled" };
  } catch (err) {
    return { error: failureCode(err), form: "profile" };
  }
}

/** "Sign out" on one row of the session list; an already ended session counts as done. */
export async function submitEndSession(accessToken: string, id: string): Promise<AccountOutcome> {
  try {
    if (id) await endSession(accessToken, id);
    return { notice: "session_ended" };
  } catch (err) {
    if (err instanceof AccountApiError && err.reason === "not_found") return { notice: "session_ended" };
    return { error: failureCode(err), form: "sessions" };
  }
}

/** "Sign out of all other sessions". */
export async function submitEndOtherSessions(accessToken: string): Promise<AccountOutcome> {
  try {
    await endOtherSessions(accessToken);
    return { notice: "others_ended" };
  } catch (err) {
    return { error: failureCode(err), form: "sessions" };
  }
}

const UNITS: Array<[unit: string, seconds: number, lastOne: string]> = [
  ["year", 365 * 86400, "last year"],
  ["month", 30 * 86400, "last month"],
  ["week", 7 * 86400, "last week"],
  ["day", 86400, "yesterday"],
  ["hour", 3600, "1 hour ago"],
  ["minute", 60, "1 minute ago"],
];

/**
 * "just now", "5 minutes ago", "yesterday": the same in every time zone, which the server does not
 * know. The words are `Intl.RelativeTimeFormat("en", { numeric: "auto" })`'s, written out: the
 * formatter's locale data is 4.2 MB of the server's memory once a page has used it (README,
 * Performance), for six English units.
 */
export function timeAgo(seconds: number, now = Date.now()): string {
  const elapsed = Math.max(0, Math.round(now / 1000 - seconds));
  for (const [unit, size, lastOne] of UNITS) {
    const count = Math.floor(elapsed / size);
    if (count >= 1) return count === 1 ? lastOne : `${count} ${unit}s ago`;
  }
  return "just now";
}

/** What an activity event was, in words. */
export function activityInWords(type: string, outcome: string): string {
  const failed = outcome !== "success";
  if (type === "sign_in") return outcome === "locked" ? "Sign-in blocked after too many attempts" : failed ? "Failed sign-in attempt" : "Signed in";
  if (type === "second_factor") return failed ? "Wrong two-step verification code" : "Signed in with two-step verification";
  if (type === "recovery_code") return failed ? "Wrong recovery code" : "Signed in with a recovery code";
  if (type === "password_change")
    return outcome === "locked" ? "Password change blocked after too many attempts" : failed ? "Password change refused" : "Changed password";
  return failed ? "Failed attempt" : "Account activity";
}
