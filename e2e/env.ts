/** The settings of the end-to-end server; the tests read them too (e.g. to open the session cookie). */
export const E2E = {
  PORT: "3100",
  HOSTNAME: "127.0.0.1",
  APP_URL: "http://127.0.0.1:3100",
  DATABASE_URL: "file:e2e/.data/e2e.db",
  NEXTAUTH_SECRET: "e2e-nextauth-secret-0123456789abcdef0123456789",
  LOGIN_CLIENT_SECRET: "e2e-login-client-secret-0123456789",
  LOG_LEVEL: "warn",
  /** demo-web's access tokens live this long in the tests, so that a refresh can be watched. */
  ACCESS_TOKEN_TTL: 8,
} as const;

/** Users without a second factor, each for one test of e2e/mfa.spec.ts (their password: `${username}-password-1`). */
export const MFA_USERS = [
  "mfa-enrol",
  "mfa-wrong",
  "mfa-recovery",
  "mfa-expired",
  "mfa-off",
  "mfa-codes",
  "mfa-nojs",
  // The `required` policy's enrolment during sign-in: one user per test, one for the screenshots
  // (who never confirms), and one who only probes which policy the server applies.
  "mfa-required",
  "mfa-required-expired",
  "mfa-required-shots",
  "mfa-policy-probe",
] as const;

/** Users of e2e/account.spec.ts whose password a test changes (their password: `${username}-password-1`). */
export const ACCOUNT_USERS = ["account-password", "account-password-nojs"] as const;
