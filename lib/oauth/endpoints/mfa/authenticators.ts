import { json, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import type { Authenticator } from "@/lib/oauth/model/mfa.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import { mfaCaller } from "@/lib/oauth/endpoints/mfa/caller.ts";
import { accessTokenRequired, withDpopNonce } from "@/lib/oauth/endpoints/access-token-caller.ts";

/**
 * `GET /mfa/authenticators` (Auth0's shape), with an `mfa_token` or a user's access token as
 * bearer: the user's active factors, `otp` and, while unused codes remain, `recovery-code`. A
 * pending enrolment is not listed: it gates nothing until confirmed.
 */
export async function mfaAuthenticatorsEndpoint(request: OAuthRequest, { workspace, audit }: EndpointContext): Promise<OAuthResponse> {
  const caller = await mfaCaller(request, workspace, audit);
  if (!caller) return accessTokenRequired(workspace);
  const list: Authenticator[] = [];
  for (const factor of caller.factors) {
    if (!factor.confirmedAt) continue;
    list.push({ id: `otp|${factor.id}`, authenticator_type: "otp", active: true });
    if (factor.recoveryCodesLeft > 0) list.push({ id: `recovery-code|${factor.id}`, authenticator_type: "recovery-code", active: true });
  }
  return withDpopNonce(json(list), caller);
}
