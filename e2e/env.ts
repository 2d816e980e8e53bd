/** The settings of the end-to-end server; the tests read them too (e.g. to open the session cookie). */
export const E2E = {
  PORT: "3100",
  HOSTNAME: "127.0.0.1",
  APP_URL: "http://127.0.0.1:3100",
  DATABASE_URL: "file:e2e/.data/e2e.db",
  NEXTAUTH_SECRET: "e2e-nextauth-secret-0123456789abcdef0123456789",
  LOGIN_CLIENT_SECRET: "e2e-login-client-secret-0123456789",
  LOG_LEVEL: "warn",
  /** The SMTP server e2e/recovery.spec.ts starts; the server mails through it (SMTP_URL). */
  SMTP_URL: "smtp://e2e-mailer:e2e-mail-password@127.0.0.1:3125",
  MAIL_FROM: "E2E Login <no-reply@example.com>",
  /** demo-web's access tokens live this long in the tests, so that a refresh can be watched. */
  ACCESS_TOKEN_TTL: 8,
} as const;

/** Users of e2e/recovery.spec.ts, each for one test (address `${username}@example.com`, password RECOVERY_PASSWORD until the test changes it). */
export const RECOVERY_USERS = [
  "reset-me",
  "reset-nojs",
  // One per screenshot test: a user is mailed at most 3 links an hour.
  "reset-shots-narrow-light",
  "reset-shots-narrow-dark",
  "reset-shots-desktop-light",
  "reset-shots-desktop-dark",
  // Changes its email address and confirms it.
  "verify-me",
] as const;
export const RECOVERY_PASSWORD = "forgotten passphrase 1";

/** Users without a second factor, each for one test of e2e/mfa.spec.ts (their password: `${username}-password-1`). */
export const MFA_USERS = [
  "mfa-enrol",
  "mfa-wrong",
  "mfa-recovery",
  "mfa-locked",
  "mfa-expired",
  "mfa-off",
  "mfa-codes",
  "mfa-nojs",
  "mfa-recovery-nojs",
  "mfa-cancel-nojs",
  "mfa-account-nojs",
  // Signed in before turning two-step verification on: the account page asks it for a code.
  "mfa-step-up",
  // The `required` policy's enrolment during sign-in: one user per test, one for the screenshots
  // (who never confirms), and one who only probes which policy the server applies.
  "mfa-required",
  "mfa-required-expired",
  "mfa-required-shots",
  "mfa-policy-probe",
] as const;

/** Users locked out on purpose (five wrong passwords), one per test: the lockout countdown, its page without script, the screenshots. */
export const LOCKOUT_USERS = ["lockout-countdown", "lockout-no-js", "lockout-shots"] as const;

/** Sets up two-step verification (never finishing it) for the pages' screenshots (e2e/pages.spec.ts). */
export const SHOTS_USER = "ux-shots";

/** A user whose name and address are as long as the profile allows: the session takes more than one 4 kB cookie (e2e/account.spec.ts). */
export const LONG_DETAILS_USER = {
  username: "long-details",
  name: `Long ${"Details ".repeat(23)}Example`,
  email: `long-details-${"x".repeat(228)}@example.com`,
} as const;

/** The same lengths, enrolling during sign-in under a required policy: the step that holds the tokens and the recovery codes takes more than one cookie too (e2e/mfa.spec.ts). */
export const LONG_DETAILS_MFA_USER = {
  username: "long-details-mfa",
  name: LONG_DETAILS_USER.name,
  email: `long-details-mfa-${"x".repeat(224)}@example.com`,
} as const;

/** Users of e2e/account.spec.ts whose password a test changes (their password: `${username}-password-1`). */
export const ACCOUNT_USERS = ["account-password", "account-password-nojs"] as const;
