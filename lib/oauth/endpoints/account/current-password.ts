import { proofAddress } from "@/lib/oauth/endpoints/mfa/caller.ts";
import { admitUserAttempt } from "@/lib/oauth/mfa/attempts.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import { InvalidGrant, InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import type { TokenHolder } from "@/lib/oauth/store/sessions.ts";
import { MAX_PASSWORD_INPUT_LENGTH } from "@/lib/platform/password-policy.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";

/**
 * Proves that the caller knows the user's current password (ASVS 5.0 §6.2.3), before a change a
 * stolen session alone must not make: the password itself, or the address that password resets
 * are mailed to. A wrong password is `invalid_grant` with 403, counted by the brute-force defence
 * like a wrong password at sign-in (past its limits, 429 without verifying). Not a sign-in: a
 * right one forgives nothing.
 */
export async function assertCurrentPassword(workspace: Workspace, user: TokenHolder, current: string): Promise<void> {
  if (current.length > MAX_PASSWORD_INPUT_LENGTH) throw new InvalidRequest(`current_password is longer than ${MAX_PASSWORD_INPUT_LENGTH} characters`);
  const { attempt, user: stored } = await admitUserAttempt(workspace.id, user.username, proofAddress({ user }), Date.now());
  try {
    if (!stored || !(await passwordVerifier.verify(stored.passwordHash, current))) {
      throw new InvalidGrant("the current password is wrong", { status: 403, detail: "wrong current password" });
    }
  } catch (err) {
    if (err instanceof InvalidGrant) await attempt.failed();
    else attempt.release();
    throw err;
  }
  attempt.release();
}
