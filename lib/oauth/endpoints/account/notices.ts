import { inBackground } from "@/lib/platform/background.ts";
import { logger, type Logger } from "@/lib/platform/logger.ts";
import { MailFailure, mailDelivery, sendMail, type Mail } from "@/lib/platform/mail.ts";
import { codesLockedMail, noticeMail, type Addressee, type Notice } from "@/lib/oauth/endpoints/account/mails.ts";
import { mailRecipient } from "@/lib/oauth/store/account-tokens.ts";
import {
  claimMail,
  dueMails,
  keepMail,
  mailKeptByChange,
  MAIL_GIVE_UP_MS,
  settleMail,
  type MailKeptByChange,
  type PendingMail,
} from "@/lib/oauth/store/pending-mails.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

/** What a kept mail says beyond its addressee (stored as JSON): a security notice, or the codes-locked warning. */
export type KeptMail = { notice: Notice } | { codesLocked: number };

/** How long an instance that sends a mail holds it before another may (its sends give up long before: lib/platform/mail.ts). */
export const MAIL_CLAIM_MS = 5 * 60_000;
/** The waits after the 1st, 2nd, 3rd … try that the mail server did not take; the last one thereafter. */
export const MAIL_RETRY_MS = [60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000] as const;
/** How often every server looks for mails due (a retry, or one whose send never began). */
export const MAIL_SWEEP_MS = 60_000;
/** Mails one sweep sends at most: the rest wait for the next. */
const SWEEP_LIMIT = 200;

/**
 * Mails a user about their account, to the account's address as it is when it is sent, or to
 * `to`: the mail is kept in the database before this returns (after what it reports: a factor
 * locked by wrong codes), then sent after the answer, as every mail of a request is; one the mail
 * server does not take is tried again (MAIL_RETRY_MS) for a day, by whichever server finds it
 * due, this one stopped or not. Nothing when mail is off, or the account has no address or is
 * gone when it is sent. Never fails the request: a mail that could not even be kept is an error
 * in the log naming the user. (A change of the account keeps its notice in its own transaction
 * instead: noticeFor.)
 */
export async function mailUser(userId: string, job: string, body: KeptMail, log: Logger, to?: string): Promise<void> {
  if (mailDelivery() === "off") return;
  let id: string | undefined;
  try {
    id = await keepMail({ userId, job, body: JSON.stringify(body), ...(to === undefined ? {} : { to }) });
  } catch (err) {
    log.error({ event: `${job}.dropped`, userId, err: messageOf(err) }, `${job}: the user was not mailed (the mail could not be kept)`);
    return;
  }
  // The user was deleted meanwhile: there is no one to tell.
  if (id !== undefined) sendAfterAnswer(id, job, log);
}

/** Sends a kept mail in the background; past the bound of background jobs, the next sweep does. */
function sendAfterAnswer(id: string, job: string, log: Logger): void {
  inBackground(job, () => deliverMail(id, log).then(() => undefined), log);
}

/**
 * Security notices (ASVS 4.0.3 §2.2.3): a changed password (by the user, a reset link or an
 * operator), address (to the old one), or second factor (turned on or off, new recovery codes) is
 * mailed to the account's owner, so that one they did not make is seen; `to` is the old address
 * when the address changed. Never a secret: no link, no code. The notice is kept in the
 * transaction of the change it reports (keepMailIn: both or neither, so that no crash after the
 * change's commit loses it), then sent after the answer (sendKept), and tried again as any kept
 * mail. Undefined when mail is off.
 */
export function noticeFor(userId: string, notice: Notice, to?: string): MailKeptByChange | undefined {
  if (mailDelivery() === "off") return undefined;
  return mailKeptByChange({
    userId,
    job: `account.notice.${notice.kind}`,
    body: JSON.stringify({ notice } satisfies KeptMail),
    ...(to === undefined ? {} : { to }),
  });
}

/** Sends, after the answer, a mail its change kept (noticeFor, keepMailIn) once that committed; nothing for none. */
export function sendKept(mail: MailKeptByChange | undefined, log: Logger): void {
  if (mail !== undefined) sendAfterAnswer(mail.id, mail.job, log);
}

function compose(body: KeptMail, to: Addressee): Mail {
  return "notice" in body ? noticeMail(to, body.notice) : codesLockedMail(to, body.codesLocked);
}

/** When a mail the server did not take is tried again; undefined once it is given up. */
export function nextTry(mail: Pick<PendingMail, "attempts" | "createdAt">, now: Date): Date | undefined {
  const wait = MAIL_RETRY_MS[Math.min(mail.attempts, MAIL_RETRY_MS.length) - 1] ?? MAIL_RETRY_MS[0];
  const at = new Date(now.getTime() + wait);
  return at.getTime() - mail.createdAt.getTime() > MAIL_GIVE_UP_MS ? undefined : at;
}

/**
 * Sends one kept mail if it is due and no one else has it (see claimMail), and settles it. Answers
 * "unreachable" when the mail server could not be reached (the mail is tried again as any other
 * it did not take): a sweep then leaves the rest for the next one.
 */
async function deliverMail(id: string, log: Logger, now = new Date()): Promise<"unreachable" | undefined> {
  const mail = await claimMail(id, now, new Date(now.getTime() + MAIL_CLAIM_MS));
  if (!mail) return;
  const recipient = await mailRecipient(mail.userId);
  const address = mail.toAddress ?? recipient?.email;
  // Gone, or without an address by now: no one to send it to.
  if (!recipient || !address) return void (await settleMail(mail));
  try {
    await sendMail(compose(JSON.parse(mail.body) as KeptMail, { to: address, username: recipient.username, workspaceName: recipient.workspaceName }), log);
  } catch (err) {
    const retryAt = nextTry(mail, now);
    const detail = { job: mail.job, userId: mail.userId, attempts: mail.attempts, err: messageOf(err) };
    if (retryAt === undefined) {
      await settleMail(mail);
      log.error({ event: "mail.undelivered", ...detail }, `${mail.job}: the user was not mailed, given up after ${mail.attempts} tries in a day`);
    } else {
      await settleMail(mail, retryAt);
      log.warn({ event: "mail.deferred", ...detail, retryAt: retryAt.toISOString() }, `${mail.job}: not sent, tried again at ${retryAt.toISOString()}`);
    }
    return err instanceof MailFailure && err.unreachable ? "unreachable" : undefined;
  }
  await settleMail(mail);
  log.info({ event: `${mail.job}.mailed`, userId: mail.userId }, `${mail.job}: the user was mailed`);
}

/**
 * Sends the kept mails due by `now`, one after the other; how many were due. At a mail server
 * that cannot be reached it stops after the first: the others stay due, untried, for the next
 * sweep (each try of a silent server waits out its timeouts, and would count against every
 * mail's day of tries).
 */
export async function deliverDueMails(log: Logger = logger, now = new Date()): Promise<number> {
  const due = await dueMails(now, SWEEP_LIMIT);
  for (const [i, id] of due.entries()) {
    if ((await deliverMail(id, log, now)) !== "unreachable") continue;
    const waiting = due.length - i - 1;
    if (waiting > 0) log.warn({ event: "mail.sweep_stopped", waiting }, `the mail server cannot be reached: ${waiting} mails due wait for the next sweep`);
    break;
  }
  return due.length;
}

// One sweep timer per process, started by the first request; kept on globalThis so that `next
// dev` reloads do not start another (and a shutdown stops it: lib/platform/leftover-work.ts).
const state = ((globalThis as Record<symbol, unknown>)[Symbol.for("ropc.mail-sweep")] ??= {}) as { timer?: NodeJS.Timeout; running?: Promise<void> };

/** Sends the mails due every MAIL_SWEEP_MS in the background (never two sweeps at once). */
export function startMailSweep(): void {
  if (state.timer !== undefined) return;
  state.timer = setInterval(() => {
    if (state.running !== undefined || mailDelivery() === "off") return;
    state.running = deliverDueMails()
      .then(() => undefined)
      .catch((err: unknown) => logger.error({ event: "mail.sweep_failed", err: messageOf(err) }, "the sweep of mails due failed"))
      .finally(() => {
        state.running = undefined;
      });
  }, MAIL_SWEEP_MS).unref();
}
