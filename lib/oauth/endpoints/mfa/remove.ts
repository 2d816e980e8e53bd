import { proveUser } from "@/lib/oauth/mfa/attempts.ts";
import { InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { readParams } from "@/lib/oauth/protocol/form.ts";
import { NO_STORE, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { FactorConfirmedMeanwhile, removeFactors } from "@/lib/oauth/store/mfa.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import {
  assertPasswordMayProve,
  confirmedFactor,
  mfaCaller,
  passwordIsNotEnough,
  proofAddress,
  provesPendingOnly,
  requireSignedIn,
  sessionEndedMeanwhile,
} from "@/lib/oauth/endpoints/mfa/caller.ts";
import { accessTokenRequired, withDpopNonce } from "@/lib/oauth/endpoints/access-token-caller.ts";
import { noticeFor, sendKept } from "@/lib/oauth/endpoints/account/notices.ts";

/**
 * `POST /mfa/remove` with the user's access token and either `otp` (a current code) or
 * `password`: turns two-step verification off (the factor, pending or not, and its recovery
 * codes). 204 when done, and the user is mailed a notice when a confirmed factor was removed.
 * Under a `required` policy the user enrols again at the next sign-in.
 */
export async function mfaRemoveEndpoint(request: OAuthRequest, { workspace, audit, log }: EndpointContext): Promise<OAuthResponse> {
  audit.event = "mfa.remove";
  const caller = await mfaCaller(request, workspace, audit);
  if (!caller) return accessTokenRequired(workspace);
  requireSignedIn(caller);
  const params = await readParams(request);
  if (caller.factors.length === 0) throw new InvalidRequest("two-step verification is not set up");
  assertPasswordMayProve(caller, params, workspace.issuer);
  await proveUser(params, { workspaceId: workspace.id, username: caller.user.username, ip: proofAddress(caller), log }, confirmedFactor(caller));
  // A pending enrolment alone never gated a sign-in: removing it turns nothing off. What was
  // removed, not what the caller's factors were when read: one confirmed meanwhile is told too.
  const notice = noticeFor(caller.user.id, { kind: "mfa_disabled" });
  // The factors were read before the body, which may have been held back while one was confirmed:
  // a password that proved a pending factor only removes nothing confirmed meanwhile.
  const { confirmed } = await removeFactors(caller.user.id, notice, { pendingOnly: provesPendingOnly(caller, params), sessionId: caller.sessionId }).catch(
    (err: unknown) => {
      throw err instanceof FactorConfirmedMeanwhile ? passwordIsNotEnough(caller, workspace.issuer) : sessionEndedMeanwhile(err, caller, workspace.issuer);
    },
  );
  if (confirmed > 0) sendKept(notice, log);
  return withDpopNonce({ status: 204, headers: { ...NO_STORE }, body: null }, caller);
}
