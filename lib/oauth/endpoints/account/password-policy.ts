import { InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { passwordViolation, type PasswordOwner } from "@/lib/platform/password-policy.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/**
 * A new password set through the account API (a change, a reset) must pass the workspace's policy:
 * else 400 `invalid_request`, the description naming the rule and `password_rule` its code
 * (`too_short`, `too_long`, `common`, `contains_username`, `contains_email`) for a page to explain.
 */
export async function assertPasswordAllowed(password: string, workspace: Workspace, owner: PasswordOwner): Promise<void> {
  const violation = await passwordViolation(password, { minLength: workspace.passwordMinLength }, owner);
  if (violation) throw new InvalidRequest(violation.description, { fields: { password_rule: violation.rule }, detail: `password policy: ${violation.rule}` });
}
