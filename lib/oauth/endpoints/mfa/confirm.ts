import { admitUserAttempt, checkTotp, WRONG_CODE } from "@/lib/oauth/mfa/attempts.ts";
import { InvalidGrant, InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { readParams } from "@/lib/oauth/protocol/form.ts";
import { json, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { confirmFactor } from "@/lib/oauth/store/mfa.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import { alreadySetUp, mfaCaller, proofAddress, requireSignedIn, sessionEndedMeanwhile } from "@/lib/oauth/endpoints/mfa/caller.ts";
import { accessTokenRequired, withDpopNonce } from "@/lib/oauth/endpoints/access-token-caller.ts";
import { noticeFor, sendKept } from "@/lib/oauth/endpoints/account/notices.ts";

/**
 * `POST /mfa/confirm` with the user's access token and `otp`, a current code of the pending
 * enrolment: activates it (from the next sign-in on, the user passes it), and mails the user a
 * notice. A wrong code is `invalid_grant`, counted like a wrong password. (During sign-in the
 * `mfa-otp` grant confirms.)
 */
export async function mfaConfirmEndpoint(request: OAuthRequest, { workspace, audit, log }: EndpointContext): Promise<OAuthResponse> {
  audit.event = "mfa.confirm";
  const caller = await mfaCaller(request, workspace, audit);
  if (!caller) return accessTokenRequired(workspace);
  requireSignedIn(caller);
  const params = await readParams(request);
  const otp = params.get("otp");
  if (otp === undefined) throw new InvalidRequest("the otp parameter is required");
  if (otp.length > 64) throw new InvalidRequest("otp is longer than 64 characters");
  const pending = caller.factors.find((f) => f.confirmedAt === null);
  if (!pending) throw new InvalidRequest("there is no enrolment to confirm; start one with /mfa/associate");
  const now = Date.now();
  const { attempt } = await admitUserAttempt(workspace.id, caller.user.username, proofAddress(caller), now);
  try {
    const outcome = await checkTotp(pending, otp, now);
    if (outcome !== "accepted") throw new InvalidGrant(WRONG_CODE, { detail: `${outcome} otp` });
  } catch (err) {
    if (err instanceof InvalidGrant) await attempt.failed();
    else attempt.release();
    throw err;
  }
  attempt.release();
  const notice = noticeFor(caller.user.id, { kind: "mfa_enabled" });
  const confirmed = await confirmFactor(caller.user.id, pending.id, new Date(now), notice, caller.sessionId).catch((err: unknown) => {
    throw sessionEndedMeanwhile(err, caller, workspace.issuer);
  });
  if (confirmed === "gone")
    throw new InvalidRequest("the enrolment was replaced or removed meanwhile; confirm the current one", { status: 409, detail: "factor gone" });
  if (confirmed === "enrolled") throw alreadySetUp("another factor confirmed");
  if (confirmed === "confirmed") sendKept(notice, log);
  return withDpopNonce(json({ id: `otp|${pending.id}`, authenticator_type: "otp", active: true }), caller);
}
