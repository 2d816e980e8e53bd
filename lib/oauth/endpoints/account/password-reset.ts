import { MAX_PASSWORD_INPUT_LENGTH } from "@/lib/platform/password-policy.ts";
import { authenticateClient } from "@/lib/oauth/client-auth/authenticate.ts";
import { passwordResetMail } from "@/lib/oauth/endpoints/account/mails.ts";
import { noticeFor, sendKept } from "@/lib/oauth/endpoints/account/notices.ts";
import { assertPasswordAllowed } from "@/lib/oauth/endpoints/account/password-policy.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import type { Client } from "@/lib/oauth/model/client.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";
import { InvalidRequest, InvalidResetToken, NotFound, UnauthorizedClient } from "@/lib/oauth/protocol/errors.ts";
import { readParams, type FormParams } from "@/lib/oauth/protocol/form.ts";
import { json, NO_STORE, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import {
  completePasswordReset,
  findAccountToken,
  findRecipients,
  issueAccountToken,
  LOST_MEANWHILE,
  type TokenProblem,
} from "@/lib/oauth/store/account-tokens.ts";
import { inBackground } from "@/lib/platform/background.ts";
import { safeForSecrets, settings } from "@/lib/platform/env.ts";
import type { Logger } from "@/lib/platform/logger.ts";
import { mailDelivery, sendMail } from "@/lib/platform/mail.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

/** Reset mails one user may be sent per hour (whatever the instance, the client or the address asking). */
export const RESET_MAILS_PER_HOUR = 3;

/** The one answer to every accepted reset request: it never tells whether the account exists. */
export const RESET_REQUESTED = {
  status: "accepted",
  message: "If an account matches, a link to reset its password has been sent to its email address.",
} as const;

// A token is 43 base64url characters; anything far longer is not one of ours.
const MAX_TOKEN_LENGTH = 128;
const MAX_NAME_LENGTH = 255;

/** Password recovery is offered when mail can go out (SMTP_URL, or development's mailbox). */
export function recoveryIsOn(): boolean {
  return mailDelivery() !== "off";
}

/** The client asking: authenticated, confidential, with a reset page registered. */
async function recoveryClient(request: OAuthRequest, params: FormParams, { workspace, ip, audit }: EndpointContext): Promise<Client> {
  if (!recoveryIsOn()) throw new NotFound("password recovery is not offered by this server", { detail: "no SMTP_URL in production" });
  const client = await authenticateClient(request, params, workspace, ip);
  Object.assign(audit, { clientId: client.clientId, accountable: client.confidential });
  if (!client.confidential || client.passwordResetUri === null)
    throw new UnauthorizedClient("this client does not offer password recovery", { status: 403, detail: "no password reset URI" });
  return client;
}

function optional(params: FormParams, name: string, max: number): string | undefined {
  const value = params.get(name);
  if (value !== undefined && value.length > max) throw new InvalidRequest(`${name} is too long`);
  return value;
}

/**
 * `POST {issuer}/account/password-reset` with `username` or `email` (form or JSON), by a
 * confidential client with a registered reset page. Always `202` with the same body, in the same
 * time, whether or not an account matches: the lookup, the token and the mail happen after the
 * answer (`inBackground`). An active account with an address gets a single-use link to the
 * client's page, valid PASSWORD_RESET_TTL_SECONDS, at most RESET_MAILS_PER_HOUR an hour.
 */
export async function passwordResetEndpoint(request: OAuthRequest, context: EndpointContext): Promise<OAuthResponse> {
  const { workspace, audit, log } = context;
  audit.event = "account.password_reset.request";
  const params = await readParams(request);
  const client = await recoveryClient(request, params, context);
  const username = optional(params, "username", MAX_NAME_LENGTH);
  const email = optional(params, "email", MAX_NAME_LENGTH);
  if ((username === undefined) === (email === undefined)) throw new InvalidRequest("send username or email, one of them");
  const by = username !== undefined ? { username } : { email: email ?? "" };
  const resetPage = client.passwordResetUri ?? "";
  // The CLI refuses an http page only when its own shell says production: a production server
  // never mails a link with a live token to one (but on localhost, as APP_URL may be).
  const page = URL.parse(resetPage);
  if (settings().isProduction && !(page && safeForSecrets(page))) {
    log.error(
      `password reset: client ${client.clientId}'s reset page is not https (${resetPage}), and no link is mailed to one in production: set an https page with npm run cli -- client set <tenant>/<workspace> ${client.clientId} --password-reset-uri https://...`,
    );
    throw new UnauthorizedClient("this client does not offer password recovery", { status: 403, detail: "password reset URI not https" });
  }
  inBackground("password reset mail", () => mailResetLinks(workspace, client.clientId, resetPage, by, log), log);
  return json(RESET_REQUESTED, 202);
}

/**
 * What happens after the answer: each matching active account with an address gets its link,
 * within the hourly limit. A mail the server does not take is logged, and the next account's goes on.
 */
async function mailResetLinks(
  workspace: Workspace,
  clientId: string,
  resetPage: string,
  by: { username: string } | { email: string },
  log: Logger,
): Promise<void> {
  const ttl = settings().PASSWORD_RESET_TTL_SECONDS;
  const recipients = await findRecipients(workspace.id, by);
  if (recipients.length === 0) log.info({ event: "account.password_reset.no_account", clientId }, "password reset asked for no active account with an address");
  for (const user of recipients) {
    const token = await issueAccountToken({
      purpose: "password_reset",
      workspaceId: workspace.id,
      userId: user.id,
      clientId,
      // The address it is mailed to: the link works only while it is the account's.
      email: user.email,
      ttlSeconds: ttl,
      limit: RESET_MAILS_PER_HOUR,
    });
    if (token === null) {
      log.warn({ event: "account.password_reset.rate_limited", userId: user.id, clientId }, "password reset mail not sent: the hourly limit is reached");
      continue;
    }
    const link = new URL(resetPage);
    link.searchParams.set("token", token);
    try {
      await sendMail(passwordResetMail({ to: user.email, username: user.username, workspaceName: user.workspaceName }, link.toString(), ttl), log);
    } catch (err) {
      // The other accounts at the address still get theirs. This user can ask again while under
      // the hourly limit, which the link just made counts towards.
      log.error({ event: "account.password_reset.mail_failed", userId: user.id, clientId, err: messageOf(err) }, "password reset mail not sent");
      continue;
    }
    log.info({ event: "account.password_reset.mailed", userId: user.id, clientId }, "password reset link mailed");
  }
}

const TOKEN_PROBLEMS: Record<TokenProblem, string> = {
  unknown: "the reset link is not valid",
  used: "the reset link has been used already",
  expired: "the reset link has expired; ask for a new one",
};

/**
 * `POST {issuer}/account/password-reset/complete` with `token` and `new_password` (form or
 * JSON), by the same client that asked for the link (its authentication, as at the request).
 * `204`: the password is set, the token spent (with every other reset link of the user), every
 * session of the user ended, the failed sign-ins against the username forgotten and the user
 * mailed a notice. A second factor is untouched: the next sign-in asks for it. An unknown, used,
 * expired or another client's token is `400 invalid_reset_token`; a password the policy refuses
 * is `400 invalid_request` naming the rule.
 */
export async function passwordResetCompleteEndpoint(request: OAuthRequest, context: EndpointContext): Promise<OAuthResponse> {
  const { workspace, audit, log } = context;
  audit.event = "account.password_reset.complete";
  const params = await readParams(request);
  const client = await recoveryClient(request, params, context);
  const token = optional(params, "token", MAX_TOKEN_LENGTH);
  const password = optional(params, "new_password", MAX_PASSWORD_INPUT_LENGTH);
  if (token === undefined) throw new InvalidRequest("token is required");
  if (password === undefined) throw new InvalidRequest("new_password is required");
  const found = await findAccountToken(token, "password_reset", workspace.id);
  if ("problem" in found) throw new InvalidResetToken(TOKEN_PROBLEMS[found.problem], { detail: `reset token: ${found.problem}` });
  // Another client's link, or a user disabled since: as good as unknown to this caller.
  if (found.clientId !== client.clientId) throw new InvalidResetToken(TOKEN_PROBLEMS.unknown, { detail: "reset token: another client's" });
  if (found.user.disabled) throw new InvalidResetToken(TOKEN_PROBLEMS.unknown, { detail: "reset token: user disabled" });
  Object.assign(audit, { userId: found.user.id, username: found.user.username });
  await assertPasswordAllowed(password, workspace, found.user);
  const passwordHash = await hashPassword(password);
  // Spent in the same transaction as the change: of two requests with one token, one wins.
  const notice = noticeFor(found.user.id, { kind: "password_changed", how: "reset" });
  const done = await completePasswordReset(found, found.user, passwordHash, notice);
  if ("problem" in done) throw new InvalidResetToken(TOKEN_PROBLEMS[done.problem], { detail: `reset token: ${done.detail ?? LOST_MEANWHILE[done.problem]}` });
  sendKept(notice, log);
  return { status: 204, headers: { ...NO_STORE }, body: null };
}
