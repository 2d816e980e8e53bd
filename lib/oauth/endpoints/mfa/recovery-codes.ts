import { proveUser } from "@/lib/oauth/mfa/attempts.ts";
import { newRecoveryCodes, recoveryCodeHash } from "@/lib/oauth/mfa/recovery-codes.ts";
import { InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { readParams } from "@/lib/oauth/protocol/form.ts";
import { json, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { FactorRemovedMeanwhile, replaceRecoveryCodes } from "@/lib/oauth/store/mfa.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import { assertPasswordMayProve, confirmedFactor, mfaCaller, proofAddress, requireSignedIn, sessionEndedMeanwhile } from "@/lib/oauth/endpoints/mfa/caller.ts";
import { accessTokenRequired, withDpopNonce } from "@/lib/oauth/endpoints/access-token-caller.ts";
import { noticeFor, sendKept } from "@/lib/oauth/endpoints/account/notices.ts";

const NOT_SET_UP = "two-step verification is not set up";

/**
 * `POST /mfa/recovery-codes` with the user's access token and either `otp` or `password`: ten new
 * recovery codes, shown this once; the old ones stop working, and the user is mailed a notice.
 */
export async function mfaRecoveryCodesEndpoint(request: OAuthRequest, { workspace, audit, log }: EndpointContext): Promise<OAuthResponse> {
  audit.event = "mfa.recovery_codes";
  const caller = await mfaCaller(request, workspace, audit);
  if (!caller) return accessTokenRequired(workspace);
  requireSignedIn(caller);
  const params = await readParams(request);
  const factor = confirmedFactor(caller);
  if (!factor) throw new InvalidRequest(NOT_SET_UP);
  assertPasswordMayProve(caller, params, workspace.issuer);
  await proveUser(params, { workspaceId: workspace.id, username: caller.user.username, ip: proofAddress(caller), log }, factor);
  const codes = newRecoveryCodes();
  const notice = noticeFor(caller.user.id, { kind: "recovery_codes_replaced" });
  await replaceRecoveryCodes(caller.user.id, factor.id, codes.map(recoveryCodeHash), notice, caller.sessionId).catch((err: unknown) => {
    // Removed while the body was on its way (the factor was read before it): as if it had been before.
    throw err instanceof FactorRemovedMeanwhile ? new InvalidRequest(NOT_SET_UP) : sessionEndedMeanwhile(err, caller, workspace.issuer);
  });
  sendKept(notice, log);
  return withDpopNonce(json({ recovery_codes: codes }), caller);
}
