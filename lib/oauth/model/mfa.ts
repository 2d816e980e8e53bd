/** Who must pass a second factor in a workspace, or through one client (its override). */
export const MFA_POLICIES = ["off", "optional", "required"] as const;
export type MfaPolicy = (typeof MFA_POLICIES)[number];

export function isMfaPolicy(value: string): value is MfaPolicy {
  return (MFA_POLICIES as readonly string[]).includes(value);
}

/** The policy a sign-in through `client` follows: the client's own, else the workspace's. */
export function mfaPolicyOf(client: { mfaPolicy: MfaPolicy | null }, workspace: { mfaPolicy: MfaPolicy }): MfaPolicy {
  return client.mfaPolicy ?? workspace.mfaPolicy;
}

/**
 * Whether a correct password is not yet enough: `optional` asks those who enrolled, `required`
 * everyone (one who has not enrolled must enrol before the sign-in completes).
 */
export function secondFactorRequired(policy: MfaPolicy, enrolled: boolean): boolean {
  return policy === "required" || (policy === "optional" && enrolled);
}

/** An `mfa_token` dies after this many wrong codes. */
export const MFA_TOKEN_MAX_FAILURES = 5;

/**
 * A confirmed factor's codes are refused after this many wrong ones in a row, whatever the
 * challenge, address or instance they came through, until a recovery code passes a sign-in (and
 * its user is mailed). The per-account ceilings alone let one who has the password try ~9,600
 * codes a day; NIST SP 800-63B §5.2.2 bounds consecutive failures at 100. With three codes valid
 * at a time (±1 step), ten guesses find one with a chance of 3 in 100,000.
 */
export const MFA_FACTOR_MAX_WRONG_CODES = 10;

/** RFC 8176 `amr` values of a sign-in completed with each kind of second factor. */
export const SECOND_FACTOR_AMR = {
  otp: ["pwd", "otp", "mfa"],
  "recovery-code": ["pwd", "mfa"],
} as const satisfies Record<string, readonly string[]>;

/** What `GET /mfa/authenticators` lists (Auth0's shape). */
export interface Authenticator {
  id: string;
  authenticator_type: "otp" | "recovery-code";
  active: true;
}
