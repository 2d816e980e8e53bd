import { InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { readParams } from "@/lib/oauth/protocol/form.ts";
import { NO_STORE } from "@/lib/oauth/protocol/responses.ts";
import { changePassword } from "@/lib/oauth/store/users.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";
import { accountEndpoint } from "@/lib/oauth/endpoints/account/caller.ts";
import { assertCurrentPassword, provedChangeRefused } from "@/lib/oauth/endpoints/account/current-password.ts";
import { assertPasswordAllowed } from "@/lib/oauth/endpoints/account/password-policy.ts";
import { noticeFor, sendKept } from "@/lib/oauth/endpoints/account/notices.ts";
import { codeToProve, proveCode } from "@/lib/oauth/endpoints/account/step-up.ts";

/**
 * `POST /account/password` with `current_password` and `new_password` (a form or a JSON object):
 * ASVS 5.0 §6.2.3, a change needs the current password. The new one must pass the workspace's
 * policy (400 `invalid_request` naming the rule, before any hashing); a wrong current one is
 * `invalid_grant` with 403, counted by the brute-force defence like a wrong password at sign-in
 * (past its limits, 429 without verifying). 204 when changed: every other session of the user
 * ends, the one it was changed from goes on, the user's unused mailed links are spent, and the
 * user is mailed a notice. Written only if that session is still live and that password still the
 * user's when the new one is (a reset while it was checked wins: provedChangeRefused). From a
 * session that did not pass the user's second factor, `otp` too (step-up.ts).
 */
export const accountPasswordEndpoint = accountEndpoint(async (request, { workspace, log }, caller) => {
  const { user, sessionId } = caller;
  const params = await readParams(request);
  const current = params.get("current_password");
  const next = params.get("new_password");
  if (current === undefined || next === undefined) throw new InvalidRequest("current_password and new_password are required");
  const code = await codeToProve(request, workspace, caller, params.get("otp"));
  await assertPasswordAllowed(next, workspace, user);
  const whilePassword = await assertCurrentPassword(workspace, user, current);
  if (code !== undefined) await proveCode(code, workspace, caller, log);
  const notice = noticeFor(user.id, { kind: "password_changed", how: "account" });
  await changePassword(user.id, await hashPassword(next), { sessionId, whilePassword }, notice).catch((err: unknown) => {
    throw provedChangeRefused(err, request, workspace);
  });
  sendKept(notice, log);
  return { status: 204, headers: { ...NO_STORE }, body: null };
}, "account.password.change");
