// What a process's requests leave running after their answers, ended before the process (or a
// test file) lets go of its database. Each module keeps its state on globalThis under these keys;
// this reads it there and imports none of them: the production server's launcher must not load the
// database layer or the logger itself (lib/scripts/serve.ts), nor a test's setup before the file
// under test (lib/testing/setup.ts).

const at = <T>(key: string) => (globalThis as Record<symbol, unknown>)[Symbol.for(key)] as T | undefined;

/**
 * Writes the audit rows still queued (lib/platform/audit.ts), waits for work begun after an answer
 * (lib/platform/background.ts: a password-reset mail) and for a sweep of kept mails under way
 * (lib/oauth/endpoints/account/notices.ts), stopping its timer, closes the mail transport's pooled
 * connections (lib/platform/mail.ts), writes what that work recorded, and stops the pruning timer.
 * Left to their timers, they would open the database again after it closed. A pruning run under way is not
 * waited for: it may be long, the server's last log lines and spans come after this, and each of
 * its batches is a statement of its own.
 */
export async function settleLeftoverWork(): Promise<void> {
  const flushAudit = () => at<{ flush?: () => Promise<void> }>("ropc.audit")?.flush?.();
  // First what is already counted (the minute's unauthenticated failures are written only by this
  // flush): a mail still under way may hold the rest past the stop's deadline (lib/scripts/serve.ts).
  await flushAudit();
  await at<{ settled?: () => Promise<void> }>("ropc.background")?.settled?.();
  const sweep = at<{ timer?: NodeJS.Timeout; running?: Promise<void> }>("ropc.mail-sweep");
  if (sweep) {
    clearInterval(sweep.timer);
    sweep.timer = undefined;
    await sweep.running;
  }
  // Its mails are sent: the pooled SMTP connections may go.
  at<{ close?: () => void }>("ropc.mail")?.close?.();
  // And what that work recorded meanwhile.
  await flushAudit();
  const pruning = at<{ timer?: NodeJS.Timeout }>("ropc.pruning");
  if (pruning) {
    clearInterval(pruning.timer);
    pruning.timer = undefined;
  }
}
