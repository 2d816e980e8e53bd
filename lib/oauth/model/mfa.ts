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
