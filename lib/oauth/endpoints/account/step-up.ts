import { authorizationScheme } from "@/lib/oauth/endpoints/access-token-caller.ts";
import type { AccountCaller } from "@/lib/oauth/endpoints/account/caller.ts";
import { proofAddress } from "@/lib/oauth/endpoints/mfa/caller.ts";
import { proveUser } from "@/lib/oauth/mfa/attempts.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import { InsufficientUserAuthentication } from "@/lib/oauth/protocol/errors.ts";
import { FormParams } from "@/lib/oauth/protocol/form.ts";
import type { OAuthRequest } from "@/lib/oauth/protocol/responses.ts";
import { factorsOf, type StoredFactor } from "@/lib/oauth/store/mfa.ts";
import type { Logger } from "@/lib/platform/logger.ts";

/**
 * A change that could take the account (a new password, a new address, where resets go) asks for
 * a current code of the user's second factor as well as the password when the caller's sign-in
 * did not pass that factor (its `amr` has no `mfa`: it signed in before the user enrolled, or
 * through a client whose policy skips the step). Else whoever had the password and such a
 * session could move the address and the password, and the factor would guard nothing; the /mfa
 * endpoints ask the same of a change of the factor itself (assertPasswordMayProve).
 *
 * Answers the code to prove and its factor (after the password: proveCode), or undefined when
 * none is needed. Without `otp` it is `401 insufficient_user_authentication` (RFC 9470 §3) at once,
 * before the password is verified.
 */
export async function codeToProve(
  request: OAuthRequest,
  workspace: Workspace,
  caller: AccountCaller,
  otp: string | undefined,
): Promise<CodeToProve | undefined> {
  if (caller.claims.amr?.includes("mfa")) return undefined;
  const factor = (await factorsOf(caller.user.id)).find((f) => f.confirmedAt !== null);
  if (factor === undefined) return undefined;
  if (otp === undefined) {
    throw new InsufficientUserAuthentication(
      workspace.issuer,
      "this session signed in without two-step verification: send a current code (otp) with the password, or sign in with it",
      authorizationScheme(request),
    );
  }
  return { factor, otp };
}

/** A code a change needs (codeToProve), and the factor it must be a current code of. */
export interface CodeToProve {
  factor: StoredFactor;
  otp: string;
}

/**
 * Checks the code against its factor as /mfa's proofs do (proveUser): a wrong one is `400
 * invalid_grant`, counted like a wrong password and against the factor (`otp_locked` past its
 * limit of wrong codes in a row), and a code is used once.
 */
export async function proveCode({ factor, otp }: CodeToProve, workspace: Workspace, caller: AccountCaller, log: Logger): Promise<void> {
  const params = new FormParams(new Map([["otp", otp]]));
  await proveUser(params, { workspaceId: workspace.id, username: caller.user.username, ip: proofAddress(caller), log }, factor);
}
