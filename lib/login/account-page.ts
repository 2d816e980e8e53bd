import { AccountApiError, changePassword, endOtherSessions, endSession, getProfile, updateProfile, type PasswordRules } from "@/lib/login/account-api.ts";
import { SESSION_ENDED_MESSAGE } from "@/lib/login/messages.ts";

/**
 * What the account page's sessions, password and activity sections say and do, over the account
 * API (lib/login/account-api.ts). The forms post to the server (server actions), with or without
 * script; a password goes in a request body only, never in a URL.
 */

/** What the change-password form shows after a submit. */
export type PasswordFormState = { error?: string; field?: "current" | "new" | "confirm"; done?: boolean };

/** Notices the page shows after a form that redirected back to it (`/account?notice=…`). */
export const ACCOUNT_NOTICES: Readonly<Record<string, string>> = {
  session_ended: "That session has been signed out.",
  others_ended: "You've been signed out of every other session.",
  password_changed: "Your password has been changed, and every other session has been signed out.",
  profile_saved: "Your details have been saved.",
  email_pending: "We've sent a link to your new email address. It becomes your address once you follow that link.",
};

/** The notice for `?notice=`, or none for anything else. */
export function accountNotice(code: string | string[] | undefined): string | undefined {
  return typeof code === "string" && Object.hasOwn(ACCOUNT_NOTICES, code) ? ACCOUNT_NOTICES[code] : undefined;
}

const UNAVAILABLE = "This can't be done right now. Please try again in a moment.";

function failureMessage(err: unknown): string {
  if (!(err instanceof AccountApiError)) return UNAVAILABLE;
  if (err.reason === "ended") return SESSION_ENDED_MESSAGE;
  if (err.reason === "too_many_attempts") return "Too many wrong passwords. Please wait a few minutes before trying again.";
  if (err.reason === "not_found") return "That session has already ended.";
  return UNAVAILABLE;
}

/** The rules a new password must follow, in words, shown before submitting. */
export function rulesInWords(rules: PasswordRules): string[] {
  const words = [`At least ${rules.minLength} characters. Longer is stronger: a few unrelated words make a good password.`];
  const rejects = new Set(rules.rejects);
  if (rejects.has("common")) words.push("Not a commonly used password.");
  if (rejects.has("username") || rejects.has("email")) words.push("Not built on your username or email address.");
  return words;
}

/** The server's own description of a broken rule, made into a sentence for people. */
function policyMessage(err: AccountApiError): string {
  const rule = err.rule;
  if (rule === "too_short" || rule === "too_long") return sentence(err.description) ?? "That password is not the right length.";
  if (rule === "common") return "That password is too common. Choose one that is harder to guess.";
  if (rule === "contains_username") return "That password is too close to your username. Choose something else.";
  if (rule === "contains_email") return "That password is too close to your email address. Choose something else.";
  return sentence(err.description) ?? "That password can't be used. Choose another.";
}

function sentence(text: string | undefined): string | undefined {
  return text ? `${text.charAt(0).toUpperCase()}${text.slice(1)}.` : undefined;
}

/** The change-password form: the current password, the new one twice. */
export async function submitPasswordChange(accessToken: string, current: string, next: string, confirm: string): Promise<PasswordFormState> {
  if (!current) return { error: "Enter your current password.", field: "current" };
  if (!next) return { error: "Enter a new password.", field: "new" };
  if (next !== confirm) return { error: "The new passwords don't match.", field: "confirm" };
  try {
    await changePassword(accessToken, current, next);
    return { done: true };
  } catch (err) {
    if (err instanceof AccountApiError && err.reason === "wrong_password") return { error: "Your current password is not right.", field: "current" };
    if (err instanceof AccountApiError && err.reason === "policy") return { error: policyMessage(err), field: "new" };
    return { error: failureMessage(err) };
  }
}

/** What the profile form shows after a submit; `notice` is the page's notice once saved. */
export type ProfileFormState = { error?: string; field?: "name" | "email"; notice?: "profile_saved" | "email_pending" };

/** The profile form: the name changes at once, a new email once its owner follows the mailed link. */
export async function submitProfile(accessToken: string, name: string, email: string): Promise<ProfileFormState> {
  const nextName = name.trim();
  const nextEmail = email.trim();
  if (!nextEmail) return { error: "Enter your email address.", field: "email" };
  try {
    const current = await getProfile(accessToken);
    const changes: { name?: string | null; email?: string } = {};
    if (nextName !== (current.name ?? "")) changes.name = nextName === "" ? null : nextName;
    if (nextEmail.toLowerCase() !== (current.email ?? "").toLowerCase() && nextEmail !== current.pendingEmail) changes.email = nextEmail;
    if (Object.keys(changes).length === 0) return { notice: "profile_saved" };
    const saved = await updateProfile(accessToken, changes);
    return { notice: changes.email !== undefined && saved.pendingEmail !== null ? "email_pending" : "profile_saved" };
  } catch (err) {
    if (err instanceof AccountApiError && err.reason === "invalid")
      return { error: sentence(err.description) ?? "That can't be saved.", field: err.description?.startsWith("name") ? "name" : "email" };
    if (err instanceof AccountApiError && err.reason === "conflict") return { error: "Your email address can't be changed right now.", field: "email" };
    if (err instanceof AccountApiError && err.reason === "too_many_attempts")
      return { error: "Too many confirmation emails this hour. Please try again later.", field: "email" };
    return { error: failureMessage(err) };
  }
}

/** "Sign out" on one row of the session list; an already ended session counts as done. */
export async function submitEndSession(accessToken: string, id: string): Promise<{ error?: string }> {
  if (!id) return { error: "That session has already ended." };
  try {
    await endSession(accessToken, id);
    return {};
  } catch (err) {
    if (err instanceof AccountApiError && err.reason === "not_found") return {};
    return { error: failureMessage(err) };
  }
}

/** "Sign out of all other sessions". */
export async function submitEndOtherSessions(accessToken: string): Promise<{ error?: string }> {
  try {
    await endOtherSessions(accessToken);
    return {};
  } catch (err) {
    return { error: failureMessage(err) };
  }
}

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ["year", 365 * 86400],
  ["month", 30 * 86400],
  ["week", 7 * 86400],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

/** "just now", "5 minutes ago", "yesterday": the same in every time zone, which the server does not know. */
export function timeAgo(seconds: number, now = Date.now()): string {
  const elapsed = Math.max(0, Math.round(now / 1000 - seconds));
  if (elapsed < 60) return "just now";
  const format = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  for (const [unit, size] of UNITS) if (elapsed >= size) return format.format(-Math.floor(elapsed / size), unit);
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
