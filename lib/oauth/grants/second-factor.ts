import { recordAudit } from "@/lib/platform/audit.ts";
import { admitUserAttempt, checkTotp, WRONG_CODE } from "@/lib/oauth/mfa/attempts.ts";
import { recoveryCodeHash } from "@/lib/oauth/mfa/recovery-codes.ts";
import { MFA_TOKEN_MAX_FAILURES, SECOND_FACTOR_AMR } from "@/lib/oauth/model/mfa.ts";
import { InvalidDpopProof, InvalidGrant, InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { json, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import { countCode, factorLocked, refuseIfLocked } from "@/lib/oauth/mfa/wrong-codes.ts";
import { noticeFor, sendKept } from "@/lib/oauth/endpoints/account/notices.ts";
import {
  confirmFactor,
  countCodeAttempt,
  findChallenge,
  forgiveWrongCodes,
  recoveryCodesLeft,
  useRecoveryCode,
  type StoredChallenge,
} from "@/lib/oauth/store/mfa.ts";
import { CredentialsChanged } from "@/lib/oauth/store/credentials.ts";
import type { TokenResponse } from "@/lib/oauth/tokens/response.ts";
import { completeSignIn } from "@/lib/oauth/grants/sign-in.ts";
import type { GrantRequest } from "@/lib/oauth/grants/types.ts";

/** Longer than any `mfa_token` we issue (43 characters). */
export const MAX_MFA_TOKEN_LENGTH = 128;
const MAX_CODE_LENGTH = 64;

const INVALID_TOKEN = "the mfa_token is invalid or expired";

/**
 * The challenge of a request's `mfa_token`, if it is one this workspace issued to `clientId`
 * (the row id), is not expired and has wrong codes left: else `invalid_grant`.
 */
export function liveChallenge(challenge: StoredChallenge | null, workspaceId: string, now: number): StoredChallenge {
  if (!challenge || challenge.workspaceId !== workspaceId) throw new InvalidGrant(INVALID_TOKEN, { detail: "unknown mfa_token" });
  if (challenge.expiresAt.getTime() <= now) throw new InvalidGrant(INVALID_TOKEN, { detail: "mfa_token expired" });
  if (challenge.failures >= MFA_TOKEN_MAX_FAILURES) throw new InvalidGrant(INVALID_TOKEN, { detail: "mfa_token exhausted" });
  return challenge;
}

/**
 * The second step of a sign-in (Auth0's MFA grants): the `mfa_token` the password grant answered
 * with, and a TOTP code or a recovery code. The steps, in order: input, the challenge (this
 * workspace's, this client's, alive), the user's state, the brute-force defence, the code, then
 * the challenge is consumed and the sign-in completes as the password grant's would, with the
 * `amr` of the factor used. A wrong or replayed code is `invalid_grant`, counted against the
 * challenge (it dies after MFA_TOKEN_MAX_FAILURES), against the factor (its codes are refused
 * after MFA_FACTOR_MAX_WRONG_CODES in a row: `otp_locked`, until a recovery code passes) and by
 * the brute-force defence.
 */
export async function passSecondFactor(grant: GrantRequest, kind: "otp" | "recovery-code"): Promise<OAuthResponse> {
  // Not `log`: the request's child logger is made only when something is logged.
  const { params, client, workspace, ip, audit, dpop } = grant;
  const parameter = kind === "otp" ? "otp" : "recovery_code";
  const mfaToken = params.get("mfa_token");
  const code = params.get(parameter);
  if (mfaToken === undefined) throw new InvalidRequest("the mfa_token parameter is required");
  if (code === undefined) throw new InvalidRequest(`the ${parameter} parameter is required`);
  if (code.length > MAX_CODE_LENGTH) throw new InvalidRequest(`${parameter} is longer than ${MAX_CODE_LENGTH} characters`);
  if (mfaToken.length > MAX_MFA_TOKEN_LENGTH) throw new InvalidGrant(INVALID_TOKEN, { detail: "too long" });
  const now = Date.now();
  const challenge = liveChallenge(await findChallenge(mfaToken), workspace.id, now);
  const { user } = challenge;
  audit.userId = user.id;
  audit.username = user.username;
  if (challenge.clientId !== client.id) throw new InvalidGrant(INVALID_TOKEN, { detail: "mfa_token of another client" });
  if (user.disabled) throw new InvalidGrant(INVALID_TOKEN, { detail: "user disabled" });
  // A sign-in begun with a DPoP proof finishes with the same key (as a bound refresh token is
  // refreshed): whoever took the mfa_token and a code from the page cannot finish it on a machine
  // of their own, with a key of their own, nor get unbound tokens by sending no proof.
  if (challenge.dpopJkt !== null) {
    if (dpop === undefined) throw new InvalidDpopProof("this mfa_token is bound to a DPoP key: send a DPoP proof by it");
    if (dpop.jkt !== challenge.dpopJkt) throw new InvalidGrant(INVALID_TOKEN, { detail: "DPoP proof by another key than the mfa_token's" });
  }
  // From here on a failure is an attempt at the user's second factor, counted like a password.
  audit.accountable = true;
  const confirmed = challenge.factors.find((f) => f.confirmedAt !== null);
  // Refused unchecked, and counted by neither the challenge nor the brute-force defence.
  if (kind === "otp" && confirmed) refuseIfLocked(confirmed);
  const { attempt, address, knownSince } = await admitUserAttempt(workspace.id, user.username, ip, now);
  // No confirmed factor: the user enrolled during this sign-in (POST /mfa/associate), and the
  // first good code confirms the pending one. Recovery codes of a pending factor count for nothing.
  const factor = confirmed ?? (kind === "otp" ? challenge.factors.find((f) => f.confirmedAt === null) : undefined);
  // The code is spent together with the challenge, so a sign-in that loses its challenge keeps it.
  const end = { tokenHash: challenge.tokenHash, maxFailures: MFA_TOKEN_MAX_FAILURES, now: new Date(now) };
  // Counted against the challenge before it is checked: of codes that arrive at once, no more are
  // checked than the challenge allows. One that finds none left is not checked, nor counted as a guess.
  const counted = await countCodeAttempt(challenge.tokenHash, MFA_TOKEN_MAX_FAILURES, end.now).catch((err: unknown) => {
    attempt.release();
    throw err;
  });
  if (!counted) {
    attempt.release();
    throw new InvalidGrant(INVALID_TOKEN, { detail: "mfa_token exhausted meanwhile" });
  }
  let locksIfWrong = false;
  try {
    // A TOTP code is counted against its factor too, before it is checked (OtpLocked: not checked).
    if (kind === "otp" && factor) ({ locksIfWrong } = await countCode(factor));
    const outcome = !factor
      ? "no factor"
      : kind === "recovery-code"
        ? await useRecoveryCode(factor.id, recoveryCodeHash(code), end)
        : await checkTotp(factor, code, now, end);
    // The last code the factor takes, and not spent (a challenge gone meanwhile counts it wrong too).
    if (outcome !== "accepted" && locksIfWrong) await factorLocked({ workspaceId: workspace.id, clientId: client.clientId, user, ip }, grant.log);
    if (outcome === "gone") throw new InvalidGrant(INVALID_TOKEN, { detail: "mfa_token used or exhausted meanwhile" });
    if (outcome !== "accepted") {
      throw new InvalidGrant(WRONG_CODE, { detail: `${outcome === "no factor" ? "no factor" : `${outcome} ${kind}`}` });
    }
  } catch (err) {
    if (err instanceof InvalidGrant) await attempt.failed();
    else attempt.release();
    throw err;
  }
  const device = { ip, userAgent: audit.userAgent };
  let tokens: TokenResponse;
  // Past the code, whatever fails gives the attempt back (it counted for the account meanwhile).
  try {
    // A recovery code passed: the factor's codes are taken again (an accepted TOTP code forgave them as it was spent).
    if (kind === "recovery-code" && factor) await forgiveWrongCodes(factor.id);
    if (factor && !factor.confirmedAt) await confirmAtSignIn(grant, user, factor.id, now);
    tokens = await completeSignIn({
      workspace,
      client,
      user,
      scope: challenge.scope,
      amr: [...SECOND_FACTOR_AMR[kind]],
      address,
      knownSince,
      now,
      jkt: dpop?.jkt,
      device,
      // The password as it was when this challenge was found (a change of password ends the
      // challenge): the session starts only while it is still the user's. Read with the
      // challenge, not by the user's name, which may be another user's by now (a rename).
      whilePassword: challenge.passwordHash,
      grant,
    });
  } catch (err) {
    attempt.release();
    // The password changed after the challenge was checked: the change ended this sign-in.
    if (err instanceof CredentialsChanged) throw new InvalidGrant(INVALID_TOKEN, { detail: err.message });
    throw err;
  }
  await attempt.succeeded();
  if (kind === "otp" || !factor) return json(tokens);
  // A used recovery code is gone; the answer says how many are left (new ones: POST /mfa/recovery-codes).
  return json({ ...tokens, recovery_codes_remaining: await recoveryCodesLeft(factor.id) });
}

/**
 * The first good code of a factor enrolled during the sign-in confirms it, with its notice (kept
 * in the confirmation's transaction). Gone meanwhile (replaced by a new enrolment): the code was
 * right when checked, and the sign-in passes, but nothing was confirmed to record. Confirmed by
 * another request at the same time: that one records it and mails the notice.
 */
async function confirmAtSignIn(grant: GrantRequest, user: { id: string; username: string }, factorId: string, now: number): Promise<void> {
  const notice = noticeFor(user.id, { kind: "mfa_enabled" });
  if ((await confirmFactor(user.id, factorId, new Date(now), notice)) !== "confirmed") return;
  recordAudit(
    {
      event: "mfa.confirm",
      outcome: "success",
      workspaceId: grant.workspace.id,
      clientId: grant.client.clientId,
      userId: user.id,
      username: user.username,
      ip: grant.ip,
      reason: "otp factor confirmed at sign-in",
    },
    grant.log,
  );
  sendKept(notice, grant.log);
}
