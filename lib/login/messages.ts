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
  invalid_recovery_code: "That recovery code didn't work. Check it and try again: each code works once.",
  mfa_expired: "Your sign-in timed out or had too many wrong codes. Please enter your password again.",
  otp_locked: "Too many wrong codes in a row, so codes from your authenticator app are turned off. Use a recovery code instead: that turns them back on.",
};

export const SIGNED_OUT_MESSAGE = "You have signed out.";

export const SESSION_ENDED_MESSAGE = "Your session has ended. Please sign in again.";

const LOCKOUT = "too_many_attempts";

/**
 * The failure code of a lockout whose end is known (the server's `Retry-After`):
 * `too_many_attempts:<unix seconds>`. It travels as next-auth's error code (and in `/login?error=`
 * after a submit without script), so that the page can say how long, and count down, at any time.
 */
export function lockoutCode(until: number): string {
  return `${LOCKOUT}:${Math.ceil(until / 1000)}`;
}

/** When the lockout that `code` names ends (ms since the epoch), if it is one and says. */
export function lockoutEnd(code: string | null | undefined): number | undefined {
  const match = code ? /^too_many_attempts:(\d{1,12})$/.exec(code) : null;
  return match ? Number(match[1]) * 1000 : undefined;
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;

/**
 * The wait in words, rounded up: whole minutes from a minute on, seconds under it (a countdown
 * changes the minutes at most once a minute and the seconds once a second).
 */
export function waitInWords(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return seconds >= 60 ? plural(Math.ceil(seconds / 60), "minute") : plural(seconds, "second");
}

/** A lockout ending at `until`, said at `now`. */
export function lockoutMessage(until: number, now = Date.now()): string {
  return until - now > 0 ? `Too many sign-in attempts. Try again in ${waitInWords(until - now)}.` : "You can try to sign in again now.";
}

export function signInMessage(code: string | null | undefined, now = Date.now()): string {
  const until = lockoutEnd(code);
  if (until !== undefined) return lockoutMessage(until, now);
  return (code && Object.hasOwn(SIGN_IN_MESSAGES, code) && SIGN_IN_MESSAGES[code]) || REFUSED;
}
