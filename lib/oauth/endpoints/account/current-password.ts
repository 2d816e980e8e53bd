import { proofAddress } from "@/lib/oauth/endpoints/mfa/caller.ts";
import { admitUserAttempt } from "@/lib/oauth/mfa/attempts.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import { authorizationScheme } from "@/lib/oauth/endpoints/access-token-caller.ts";
import { InvalidGrant, InvalidRequest, InvalidToken } from "@/lib/oauth/protocol/errors.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";
import { CredentialsChanged, SessionEnded } from "@/lib/oauth/store/credentials.ts";
import type { TokenHolder } from "@/lib/oauth/store/sessions.ts";
import { MAX_PASSWORD_INPUT_LENGTH } from "@/lib/platform/password-policy.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";

/**
 * Proves that the caller knows the user's current password (ASVS 5.0 §6.2.3), before a change a
 * stolen session alone must not make: the password itself, or the address that password resets
 * are mailed to. A wrong password is `invalid_grant` with 403, counted by the brute-force defence
 * like a wrong password at sign-in (past its limits, 429 without verifying). Not a sign-in: a
 * right one forgives nothing. Answers the hash the password was checked against: the change is
 * written only while it is still the user's, and the caller's session live (ProvedFrom).
 */
export async function assertCurrentPassword(workspace: Workspace, user: TokenHolder, current: string): Promise<string> {
  if (current.length > MAX_PASSWORD_INPUT_LENGTH) throw new InvalidRequest(`current_password is longer than ${MAX_PASSWORD_INPUT_LENGTH} characters`);
  const { attempt, user: stored } = await admitUserAttempt(workspace.id, user.username, proofAddress({ user }), Date.now());
  try {
    if (!stored || !(await passwordVerifier.verify(stored.passwordHash, current))) {
      throw new InvalidGrant(WRONG_PASSWORD, { status: 403, detail: "wrong current password" });
    }
  } catch (err) {
    if (err instanceof InvalidGrant) await attempt.failed();
    else attempt.release();
    throw err;
  }
  attempt.release();
  return stored.passwordHash;
}

const WRONG_PASSWORD = "the current password is wrong";

/**
 * What a change proved with the current password is answered when it was not written
 * (ProvedFrom): its session ended meanwhile (a reset, a sign-out elsewhere), so the caller's access
 * token is no longer valid, 401 `invalid_token`; or its password changed meanwhile (another change
 * from the same session), so the password it proved is no longer the current one, 403
 * `invalid_grant`. Anything else is thrown on (a user gone meanwhile is the route's to answer).
 */
export function provedChangeRefused(err: unknown, request: OAuthRequest, workspace: Workspace): unknown {
  if (err instanceof SessionEnded)
    return new InvalidToken(workspace.issuer, "the access token is invalid", "session ended meanwhile", authorizationScheme(request));
  if (err instanceof CredentialsChanged) return new InvalidGrant(WRONG_PASSWORD, { status: 403, detail: "password changed meanwhile" });
  return err;
}
