import { settings } from "@/lib/platform/env.ts";
import { addressGroup } from "@/lib/platform/client-address.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";
import { admitAttempt, type Attempt } from "@/lib/oauth/defence/brute-force.ts";
import { matchingStep } from "@/lib/oauth/mfa/totp.ts";
import { InvalidGrant, InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import type { FormParams } from "@/lib/oauth/protocol/form.ts";
import { useTimeStep, type ChallengeToEnd, type StoredFactor } from "@/lib/oauth/store/mfa.ts";
import { findUserAndHistory } from "@/lib/oauth/store/users.ts";
import type { SignInUser } from "@/lib/oauth/model/user.ts";
import { countCode, factorLocked, refuseIfLocked } from "@/lib/oauth/mfa/wrong-codes.ts";
import type { Logger } from "@/lib/platform/logger.ts";

export interface UserAttempt {
  attempt: Attempt;
  user: SignInUser | null;
  address: string;
  knownSince: number | null;
}

/**
 * An attempt at a known user's code or password, under the same brute-force defence as the
 * password grant (the same counts, per username and address and per account): a wrong code costs
 * what a wrong password costs, and past a limit the answer is the same 429 with Retry-After.
 */
export async function admitUserAttempt(workspaceId: string, username: string, ip: string, now: number): Promise<UserAttempt> {
  const s = settings();
  const address = addressGroup(ip);
  const { user, ...history } = await findUserAndHistory(
    workspaceId,
    username,
    address,
    s.LOCKOUT_IP_LIMIT + 1,
    new Date(now - s.LOCKOUT_WINDOW_SECONDS * 1000),
    s.LOCKOUT_USER_IP_LIMIT + 1,
  );
  const attempt = admitAttempt({ workspaceId, kind: "user", name: username, ip: address }, history, now);
  return { attempt, user, address, knownSince: history.knownSince };
}

/**
 * A TOTP code against a factor: `accepted` once per time step (the step is marked used atomically,
 * so a code seen by someone else cannot be used again within its window), `replayed` for a step
 * already used, `wrong` otherwise. With a sign-in's challenge, the step is marked used only if
 * the challenge ends with it (`gone` if it is gone meanwhile).
 */
export async function checkTotp(factor: StoredFactor, code: string, now: number): Promise<"accepted" | "replayed" | "wrong">;
export async function checkTotp(
  factor: StoredFactor,
  code: string,
  now: number,
  challenge: ChallengeToEnd,
): Promise<"accepted" | "replayed" | "wrong" | "gone">;
export async function checkTotp(factor: StoredFactor, code: string, now: number, challenge?: ChallengeToEnd) {
  const step = matchingStep(factor.secret, code, now);
  if (step === null) return "wrong";
  if (factor.lastUsedStep !== null && step <= factor.lastUsedStep) return "replayed";
  return useTimeStep(factor.id, step, challenge);
}

export const WRONG_CODE = "the code is invalid";

/**
 * A signed-in user proves it is them again before changing their second factor: a current code
 * of the confirmed factor (`otp`) or the password (`password`), exactly one. A wrong one is
 * `invalid_grant` and counted like a wrong password; a code is counted against the factor too,
 * as at sign-in (`otp_locked` past MFA_FACTOR_MAX_WRONG_CODES in a row).
 */
export async function proveUser(
  params: FormParams,
  who: { workspaceId: string; username: string; ip: string; log: Logger },
  factor: StoredFactor | undefined,
  now = Date.now(),
): Promise<void> {
  const otp = params.get("otp");
  const password = params.get("password");
  if ((otp === undefined) === (password === undefined)) throw new InvalidRequest("send either otp (a current code) or password");
  if ((otp?.length ?? 0) > 64 || (password?.length ?? 0) > 1024) throw new InvalidRequest("the otp or password is too long");
  const confirmed = factor?.confirmedAt ? factor : undefined;
  if (otp !== undefined && confirmed) refuseIfLocked(confirmed);
  const { attempt, user } = await admitUserAttempt(who.workspaceId, who.username, who.ip, now);
  try {
    if (!user) throw new InvalidGrant(WRONG_CODE, { detail: "user gone" });
    if (otp !== undefined) {
      const { locksIfWrong } = confirmed ? await countCode(confirmed) : { locksIfWrong: false };
      const outcome = confirmed ? await checkTotp(confirmed, otp, now) : "wrong";
      if (outcome !== "accepted" && locksIfWrong) await factorLocked({ workspaceId: who.workspaceId, user, ip: who.ip }, who.log);
      if (outcome !== "accepted") throw new InvalidGrant(WRONG_CODE, { detail: `${outcome} code` });
    } else if (password !== undefined && !(await passwordVerifier.verify(user.passwordHash, password))) {
      throw new InvalidGrant("the password is invalid", { detail: "wrong password" });
    }
  } catch (err) {
    if (err instanceof InvalidGrant) await attempt.failed();
    else attempt.release();
    throw err;
  }
  // Not a sign-in: nothing is forgiven.
  attempt.release();
}
