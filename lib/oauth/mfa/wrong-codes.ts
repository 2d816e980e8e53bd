import { recordAudit } from "@/lib/platform/audit.ts";
import type { Logger } from "@/lib/platform/logger.ts";
import { mailDelivery } from "@/lib/platform/mail.ts";
import { mailUser } from "@/lib/oauth/endpoints/account/notices.ts";
import { MFA_FACTOR_MAX_WRONG_CODES } from "@/lib/oauth/model/mfa.ts";
import { OtpLocked } from "@/lib/oauth/protocol/errors.ts";
import { countFactorCode, type StoredFactor } from "@/lib/oauth/store/mfa.ts";

/**
 * A confirmed factor's wrong codes in a row (NIST SP 800-63B §5.2.2): the per-account ceilings of
 * the brute-force defence slow guessing down, and this ends it. Past MFA_FACTOR_MAX_WRONG_CODES
 * its codes are refused unchecked (`otp_locked`), through any challenge, proof, address or
 * instance, until a recovery code passes a sign-in; the user is mailed when that happens.
 */

/** OtpLocked when the factor, as read, has taken every wrong code it may: nothing is counted or checked. */
export function refuseIfLocked(factor: StoredFactor): void {
  if (factor.confirmedAt !== null && factor.wrongCodes >= MFA_FACTOR_MAX_WRONG_CODES) throw new OtpLocked("factor locked by wrong codes");
}

/**
 * Counts a code against a confirmed factor before it is checked. Returns whether this code, if
 * wrong, is the one that locks the factor; throws OtpLocked when the factor was locked meanwhile
 * (by codes that came at once: this one is not checked). A pending factor's codes are not counted:
 * the one who enrols has just been shown its secret.
 */
export async function countCode(factor: StoredFactor): Promise<{ locksIfWrong: boolean }> {
  if (factor.confirmedAt === null) return { locksIfWrong: false };
  const inARow = await countFactorCode(factor.id, MFA_FACTOR_MAX_WRONG_CODES);
  if (inARow === null) throw new OtpLocked("factor locked by wrong codes meanwhile");
  return { locksIfWrong: inARow === MFA_FACTOR_MAX_WRONG_CODES };
}

export interface LockedFactor {
  workspaceId: string;
  /** The public id of the client the codes came through, when a sign-in. */
  clientId?: string;
  user: { id: string; username: string; email: string | null };
  ip: string;
}

/**
 * The wrong code that locked a factor: an audit event, and a mail to the user (after the answer,
 * as every mail of a request is sent) saying that someone who knows the password is guessing codes.
 */
export async function factorLocked({ workspaceId, clientId, user, ip }: LockedFactor, log: Logger): Promise<void> {
  recordAudit(
    {
      event: "mfa.lock",
      outcome: "locked",
      workspaceId,
      ...(clientId === undefined ? {} : { clientId }),
      userId: user.id,
      username: user.username,
      ip,
      reason: `${MFA_FACTOR_MAX_WRONG_CODES} wrong codes in a row`,
    },
    log,
  );
  if (user.email === null) return;
  if (mailDelivery() === "off") {
    log.warn({ event: "mfa.lock.mail_off", userId: user.id }, "second factor locked by wrong codes: no mail sent (SMTP_URL is not set)");
    return;
  }
  await mailUser(user.id, "mfa.lock", { codesLocked: MFA_FACTOR_MAX_WRONG_CODES }, log);
}
