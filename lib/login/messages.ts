/**
 * The error code with which a sign-in submit that led to another step (a code, an enrolment, the
 * recovery codes) fails, since next-auth has no other answer: the page then shows that step.
 */
export const NEXT_STEP = "mfa_step";

const REFUSED = "Sign-in is not available right now. Please try again later.";

/** What the login page says for each way a sign-in can fail: one message per cause. */
export const SIGN_IN_MESSAGES: Readonly<Record<string, string>> = {
  // One message for wrong password, unknown user and disabled user: no hint which it was.
  invalid_credentials: "Invalid username or password",
  CredentialsSignin: "Invalid username or password",
  too_many_attempts: "Too many sign-in attempts. Please wait a few minutes before trying again.",
  unreachable: "The sign-in service cannot be reached right now. Please try again in a moment.",
  refused: REFUSED,
  invalid_code: "That code didn't work. Check your authenticator app and try again.",
  mfa_expired: "Your sign-in timed out or had too many wrong codes. Please enter your password again.",
};

export const SIGNED_OUT_MESSAGE = "You have signed out.";

export const SESSION_ENDED_MESSAGE = "Your session has ended. Please sign in again.";

export function signInMessage(code: string | null | undefined): string {
  return (code && Object.hasOwn(SIGN_IN_MESSAGES, code) && SIGN_IN_MESSAGES[code]) || REFUSED;
}
