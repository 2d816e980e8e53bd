import { admitUserAttempt } from "@/lib/oauth/mfa/attempts.ts";
import { InvalidGrant, InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { readParams } from "@/lib/oauth/protocol/form.ts";
import { NO_STORE } from "@/lib/oauth/protocol/responses.ts";
import { changePassword } from "@/lib/oauth/store/users.ts";
import { MAX_PASSWORD_LENGTH } from "@/lib/platform/password-policy.ts";
import { hashPassword, passwordVerifier } from "@/lib/platform/passwords.ts";
import { accountEndpoint } from "@/lib/oauth/endpoints/account/caller.ts";
import { assertPasswordAllowed } from "@/lib/oauth/endpoints/account/password-policy.ts";
import { proofAddress } from "@/lib/oauth/endpoints/mfa/caller.ts";

/**
 * `POST /account/password` with `current_password` and `new_password` (a form or a JSON object):
 * ASVS 5.0 §6.2.3, a change needs the current password. The new one must pass the workspace's
 * policy (400 `invalid_request` naming the rule, before any hashing); a wrong current one is
 * `invalid_grant` with 403, counted by the brute-force defence like a wrong password at sign-in
 * (past its limits, 429 without verifying). 204 when changed: every other session of the user
 * ends, the one it was changed from goes on.
 */
export const accountPasswordEndpoint = accountEndpoint(async (request, { workspace }, { user, sessionId }) => {
  const params = await readParams(request);
  const current = params.get("current_password");
  const next = params.get("new_password");
  if (current === undefined || next === undefined) throw new InvalidRequest("current_password and new_password are required");
  if (current.length > MAX_PASSWORD_LENGTH) throw new InvalidRequest(`current_password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  await assertPasswordAllowed(next, workspace, user);
  const now = Date.now();
  const { attempt, user: stored } = await admitUserAttempt(workspace.id, user.username, proofAddress({ user }), now);
  try {
    if (!stored || !(await passwordVerifier.verify(stored.passwordHash, current))) {
      throw new InvalidGrant("the current password is wrong", { status: 403, detail: "wrong current password" });
    }
  } catch (err) {
    if (err instanceof InvalidGrant) await attempt.failed();
    else attempt.release();
    throw err;
  }
  // Not a sign-in: nothing is forgiven.
  attempt.release();
  await changePassword(user.id, await hashPassword(next), sessionId);
  return { status: 204, headers: { ...NO_STORE }, body: null };
}, "account.password.change");
