import { passSecondFactor } from "@/lib/oauth/grants/second-factor.ts";
import type { Grant } from "@/lib/oauth/grants/types.ts";

/** `grant_type=http://auth0.com/oauth/grant-type/mfa-recovery-code`: the `mfa_token` and an unused `recovery_code`. */
export const mfaRecoveryCodeGrant: Grant = {
  type: "http://auth0.com/oauth/grant-type/mfa-recovery-code",
  auditName: "mfa_recovery_code",
  parameters: ["mfa_token", "recovery_code"],
  handle: (request) => passSecondFactor(request, "recovery-code"),
};
