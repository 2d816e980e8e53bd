import { clientCredentialsGrant } from "@/lib/oauth/grants/client-credentials.ts";
import { mfaOtpGrant } from "@/lib/oauth/grants/mfa-otp.ts";
import { mfaRecoveryCodeGrant } from "@/lib/oauth/grants/mfa-recovery-code.ts";
import { passwordGrant } from "@/lib/oauth/grants/password.ts";
import { refreshTokenGrant } from "@/lib/oauth/grants/refresh-token.ts";
import type { Grant } from "@/lib/oauth/grants/types.ts";

/**
 * The grants this server implements. The token endpoint dispatches on `grant_type` through this
 * list and discovery advertises exactly these. A new grant is a module exporting a `Grant` and a
 * line here.
 */
export const GRANTS: readonly Grant[] = [passwordGrant, refreshTokenGrant, clientCredentialsGrant, mfaOtpGrant, mfaRecoveryCodeGrant];

/** The grant of a `grant_type`, or undefined for one we do not implement. */
export function grantOf(type: string): Grant | undefined {
  return GRANTS.find((g) => g.type === type);
}
