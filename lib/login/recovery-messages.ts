/** What the recovery pages say, by the code their form handlers put in the URL (never anything the user typed). */

export const FORGOT_PASSWORD_MESSAGES: Readonly<Record<string, string>> = {
  missing: "Enter your username or email address.",
  unavailable: "Password recovery is not available right now. Please try again later.",
  unreachable: "The sign-in service cannot be reached right now. Please try again in a moment.",
};

export const RESET_PASSWORD_MESSAGES: Readonly<Record<string, string>> = {
  missing: "Enter a new password.",
  mismatch: "The two passwords are not the same. Please type them again.",
  invalid_link: "This link is no longer valid: a link works once, and only for a limited time. Ask for a new one below.",
  unavailable: "Password recovery is not available right now. Please try again later.",
  unreachable: "The sign-in service cannot be reached right now. Please try again in a moment.",
};

/** The policy's rules (the server's `password_rule`) in the page's words. */
export const PASSWORD_RULE_MESSAGES: Readonly<Record<string, string>> = {
  too_short: "That password is too short.",
  too_long: "That password is too long.",
  common: "That password is too common: it is on lists attackers try first. Choose another.",
  contains_username: "The password must not contain your username.",
  contains_email: "The password must not contain your email address.",
};

export const VERIFY_EMAIL_MESSAGES: Readonly<Record<string, string>> = {
  invalid_link: "This link is no longer valid: a link works once, and only for a limited time. Change the address again from your account for a new one.",
  unavailable: "The address could not be confirmed right now. Please try again later.",
  unreachable: "The sign-in service cannot be reached right now. Please try again in a moment.",
};

/** The confirmation's failures that trying again may mend: its page keeps the link's token and its button. */
export const RETRYABLE_VERIFY_ERRORS: ReadonlySet<string> = new Set(["unavailable", "unreachable"]);

export const PASSWORD_RESET_DONE_MESSAGE = "Your password has been changed, and you have been signed out everywhere. Sign in with your new password.";

/** The message of `code` in `messages`, or undefined for no or an unknown code. */
export function messageFor(messages: Readonly<Record<string, string>>, code: unknown): string | undefined {
  return typeof code === "string" && Object.hasOwn(messages, code) ? messages[code] : undefined;
}
