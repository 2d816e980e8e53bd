const REFUSED = "Sign-in is not available right now. Please try again later.";

/** What the login page says for each way a sign-in can fail: one message per cause. */
export const SIGN_IN_MESSAGES: Readonly<Record<string, string>> = {
  // One message for wrong password, unknown user and disabled user: no hint which it was.
  invalid_credentials: "Invalid username or password",
  CredentialsSignin: "Invalid username or password",
  too_many_attempts: "Too many sign-in attempts. Please wait a few minutes before trying again.",
  unreachable: "The sign-in service cannot be reached right now. Please try again in a moment.",
  refused: REFUSED,
};

export const SESSION_ENDED_MESSAGE = "Your session has ended. Please sign in again.";

export function signInMessage(code: string | null | undefined): string {
  return (code && Object.hasOwn(SIGN_IN_MESSAGES, code) && SIGN_IN_MESSAGES[code]) || REFUSED;
}
