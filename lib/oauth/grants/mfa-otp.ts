import { passSecondFactor } from "@/lib/oauth/grants/second-factor.ts";
import type { Grant } from "@/lib/oauth/grants/types.ts";

/** `grant_type=http://auth0.com/oauth/grant-type/mfa-otp`: the `mfa_token` and a current TOTP code (`otp`). */
export const mfaOtpGrant: Grant = {
  type: "http://auth0.com/oauth/grant-type/mfa-otp",
  auditName: "mfa_otp",
  parameters: ["mfa_token", "otp"],
  handle: (request) => passSecondFactor(request, "otp"),
};
