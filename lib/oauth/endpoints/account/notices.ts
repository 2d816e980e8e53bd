import { inBackground } from "@/lib/platform/background.ts";
import type { Logger } from "@/lib/platform/logger.ts";
import { mailDelivery, sendMail, type Mail } from "@/lib/platform/mail.ts";
import { noticeMail, type Addressee, type Notice } from "@/lib/oauth/endpoints/account/mails.ts";
import { mailRecipient } from "@/lib/oauth/store/account-tokens.ts";

/**
 * Mails a user after the answer (as every mail of a request is sent), to the account's address as
 * it is then, or to `to`. Nothing when mail is off, or the account has no address or is gone; a
 * mail the server does not take is logged under `event`, and the change it reports stands. A mail
 * dropped because too many background jobs are under way is an error in the log, naming the user:
 * a change the owner is not told of must be seen by the operator.
 */
export function mailUser(userId: string, event: string, compose: (to: Addressee) => Mail, log: Logger, to?: string): void {
  if (mailDelivery() === "off") return;
  const queued = inBackground(
    event,
    async () => {
      const recipient = await mailRecipient(userId);
      const address = to ?? recipient?.email;
      if (!recipient || !address) return;
      await sendMail(compose({ to: address, username: recipient.username, workspaceName: recipient.workspaceName }), log);
      log.info({ event: `${event}.mailed`, userId }, `${event}: the user was mailed`);
    },
    log,
  );
  if (!queued) log.error({ event: `${event}.dropped`, userId }, `${event}: the user was not mailed (too many background jobs under way)`);
}

/**
 * Security notices (ASVS 4.0.3 §2.2.3): a changed password (by the user or a reset link), address
 * (to the old one), or second factor (turned on or off, new recovery codes) is mailed to the
 * account's owner, so that one they did not make is seen; `to` is the old address when the
 * address changed. Never a secret: no link, no code.
 */
export function noticeUser(userId: string, notice: Notice, log: Logger, to?: string): void {
  mailUser(userId, `account.notice.${notice.kind}`, (addressee) => noticeMail(addressee, notice), log, to);
}
