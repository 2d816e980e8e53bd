import type { Logger } from "@/lib/platform/logger.ts";
import { mailUser } from "@/lib/oauth/endpoints/account/notices.ts";
import type { Notice } from "@/lib/oauth/endpoints/account/mails.ts";

/** A security notice kept and sent on its own, as a change keeps and sends its own (noticeFor, sendKept): for the tests of the mails themselves. */
export function noticeUser(userId: string, notice: Notice, log: Logger, to?: string): Promise<void> {
  return mailUser(userId, `account.notice.${notice.kind}`, { notice }, log, to);
}
