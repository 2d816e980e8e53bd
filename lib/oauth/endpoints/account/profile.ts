import { accountEndpoint, type AccountCaller } from "@/lib/oauth/endpoints/account/caller.ts";
import { assertCurrentPassword, provedChangeRefused } from "@/lib/oauth/endpoints/account/current-password.ts";
import { emailVerificationMail } from "@/lib/oauth/endpoints/account/mails.ts";
import { noticeFor, sendKept } from "@/lib/oauth/endpoints/account/notices.ts";
import { codeToProve, proveCode } from "@/lib/oauth/endpoints/account/step-up.ts";
import type { Endpoint, EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import { InvalidRequest, InvalidVerificationToken, TemporarilyUnavailable } from "@/lib/oauth/protocol/errors.ts";
import { readJsonObject, readParams } from "@/lib/oauth/protocol/form.ts";
import { json, NO_STORE, type OAuthRequest, type OAuthResponse } from "@/lib/oauth/protocol/responses.ts";
import {
  cancelEmailChange,
  confirmEmail,
  findAccountToken,
  issueAccountToken,
  LOST_MEANWHILE,
  pendingEmailOf,
  sameMailbox,
  withdrawAccountToken,
  type TokenProblem,
} from "@/lib/oauth/store/account-tokens.ts";
import { findProfile, setName, type Profile } from "@/lib/oauth/store/profiles.ts";
import { UserGone } from "@/lib/oauth/store/credentials.ts";
import { settings } from "@/lib/platform/env.ts";
import { MailFailure, mailDelivery, sendMail } from "@/lib/platform/mail.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** Confirmation mails one user may be sent per hour: an account must not become a way to mail strangers. */
export const VERIFICATION_MAILS_PER_HOUR = 3;

/**
 * A confirmation link: this app's page, which posts the token to `{issuer}/account/email/verify`.
 * The link names the account's workspace (`tenant`, `workspace`), so that the page confirms
 * addresses for every workspace of this server, not only the login app's own.
 */
export function verifyEmailLink(workspace: Workspace, token: string): string {
  const link = new URL(`${settings().APP_URL}/verify-email`);
  link.searchParams.set("token", token);
  link.searchParams.set("tenant", workspace.tenant);
  link.searchParams.set("workspace", workspace.slug);
  return link.toString();
}

const MAX_NAME_LENGTH = 200;
const MAX_EMAIL_LENGTH = 254;
// One address, no spaces or angle brackets: enough to catch a typo; the confirmation mail proves the rest.
const EMAIL = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/;
// Control characters (line breaks among them) have no place in a name or an address.
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

/** The profile as the account API answers it; `pending_email` only while a new address awaits its confirmation. */
function profileBody(profile: Profile, pendingEmail: string | null): Record<string, unknown> {
  return {
    sub: profile.id,
    username: profile.username,
    name: profile.name,
    email: profile.email,
    email_verified: profile.emailVerified,
    ...(pendingEmail !== null ? { pending_email: pendingEmail } : {}),
  };
}

async function currentProfile(caller: AccountCaller): Promise<Record<string, unknown>> {
  const profile = await findProfile(caller.user.id);
  if (!profile) throw new UserGone();
  return profileBody(profile, await pendingEmailOf(profile.id));
}

interface Changes {
  name?: string | null;
  email?: string;
  /** The proof a new address needs. */
  currentPassword?: string;
  /** A current code, which a new address needs too from a session that did not pass the second factor (step-up.ts). */
  otp?: string;
}

/** What a PATCH asks to change, checked. `name: null` or `""` removes the name. */
function readChanges(body: Record<string, unknown>): Changes {
  const unknown = Object.keys(body).filter((k) => k !== "name" && k !== "email" && k !== "current_password" && k !== "otp");
  if (unknown.length > 0) throw new InvalidRequest(`only name and email can be changed, not ${/^[a-z_]{1,40}$/.test(unknown[0] ?? "") ? unknown[0] : "that"}`);
  if (!("name" in body) && !("email" in body)) throw new InvalidRequest("send name, email or both");
  const changes: Changes = {};
  if ("current_password" in body) {
    if (typeof body.current_password !== "string") throw new InvalidRequest("current_password must be a string");
    changes.currentPassword = body.current_password;
  }
  if ("otp" in body) {
    if (typeof body.otp !== "string") throw new InvalidRequest("otp must be a string");
    changes.otp = body.otp;
  }
  if ("name" in body) {
    const name = body.name;
    if (name !== null && typeof name !== "string") throw new InvalidRequest("name must be a string");
    const trimmed = name === null ? "" : name.trim();
    if (trimmed.length > MAX_NAME_LENGTH) throw new InvalidRequest(`name must have at most ${MAX_NAME_LENGTH} characters`);
    if (CONTROL.test(trimmed)) throw new InvalidRequest("name must not contain control characters");
    changes.name = trimmed === "" ? null : trimmed.normalize("NFC");
  }
  if ("email" in body) {
    const email = body.email;
    if (typeof email !== "string") throw new InvalidRequest("email must be a string");
    const trimmed = email.trim();
    if (trimmed.length > MAX_EMAIL_LENGTH) throw new InvalidRequest(`email must have at most ${MAX_EMAIL_LENGTH} characters`);
    if (CONTROL.test(trimmed) || !EMAIL.test(trimmed)) throw new InvalidRequest("email must be an email address, like name@example.com");
    changes.email = trimmed;
  }
  return changes;
}

/** `GET {issuer}/account/profile`: who the caller is. */
export const profileEndpoint: Endpoint = accountEndpoint(async (_request, _context, caller) => json(await currentProfile(caller)), "account.profile.read");

/**
 * `PATCH {issuer}/account/profile` with a JSON object of `name` and/or `email`. The name changes
 * at once, after the rest of the request has passed (a refused request changes nothing). A new
 * address needs `current_password` too: the address is where password resets go, so a session
 * alone (a device left signed in) must not be able to take the account with it (missing: 400
 * `invalid_request`; wrong: 403 `invalid_grant`, counted like a wrong password), and
 * `otp` from a session that did not pass the user's second factor (step-up.ts). It
 * is only pending then: a single-use link (its hash stored, valid EMAIL_VERIFICATION_TTL_SECONDS,
 * written only while the caller's session is live and that password the user's:
 * provedChangeRefused) goes to it, and until its owner follows the link the account keeps its
 * current address. The current address again cancels a pending change (its links are spent) and
 * mails nothing.
 */
async function updateProfile(request: OAuthRequest, { workspace, log }: EndpointContext, caller: AccountCaller): Promise<OAuthResponse> {
  const changes = readChanges(await readJsonObject(request));
  const profile = await findProfile(caller.user.id);
  if (!profile) throw new UserGone();
  const newEmail = changes.email !== undefined && changes.email !== profile.email ? changes.email : undefined;
  if (newEmail !== undefined && mailDelivery() === "off")
    throw new InvalidRequest("this server sends no mail, so the email address cannot be changed here", { status: 409 });
  let whilePassword: string | undefined;
  if (newEmail !== undefined) {
    if (changes.currentPassword === undefined) throw new InvalidRequest("current_password is required to change the email address");
    const code = await codeToProve(request, workspace, caller, changes.otp);
    whilePassword = await assertCurrentPassword(workspace, caller.user, changes.currentPassword);
    if (code !== undefined) await proveCode(code, workspace, caller, log);
  }
  if (changes.email !== undefined && newEmail === undefined) await cancelEmailChange(profile.id);
  if (newEmail !== undefined && whilePassword !== undefined) {
    const ttl = settings().EMAIL_VERIFICATION_TTL_SECONDS;
    const token = await issueAccountToken({
      purpose: "email_verification",
      workspaceId: workspace.id,
      userId: profile.id,
      email: newEmail,
      ttlSeconds: ttl,
      limit: VERIFICATION_MAILS_PER_HOUR,
      from: { sessionId: caller.sessionId, whilePassword },
    }).catch((err: unknown) => {
      throw provedChangeRefused(err, request, workspace);
    });
    if (token === null) throw new InvalidRequest("too many address changes this hour; try again later", { status: 429, detail: "verification mail limit" });
    try {
      const link = verifyEmailLink(workspace, token);
      await sendMail(emailVerificationMail({ to: newEmail, username: profile.username, workspaceName: profile.workspaceName }, link, ttl), log);
    } catch (err) {
      if (!(err instanceof MailFailure)) throw err;
      // No link went out: the change is not pending (an earlier request's link, if any, still is).
      await withdrawAccountToken(token);
      log.warn({ event: "account.email.verification_not_mailed", userId: profile.id, reason: err.message }, "email confirmation link not mailed");
      throw new TemporarilyUnavailable("the confirmation mail could not be sent; try again later", { detail: "verification mail failed" });
    }
    log.info({ event: "account.email.verification_mailed", userId: profile.id }, "email confirmation link mailed");
  }
  // Last: a request refused on its way (its address's limit, its mail, its session ended) saves nothing.
  if (changes.name !== undefined) await setName(profile.id, changes.name);
  return json(await currentProfile(caller));
}

export const profileUpdateEndpoint: Endpoint = accountEndpoint(updateProfile, "account.profile.update");

const TOKEN_PROBLEMS: Record<TokenProblem, string> = {
  unknown: "the confirmation link is not valid",
  used: "the confirmation link has been used already",
  expired: "the confirmation link has expired; change the address again for a new one",
};

/**
 * `POST {issuer}/account/email/verify` with `token` (form or JSON): the link's token is the
 * proof, so no other authentication is asked (the link may be opened on another device). `204`:
 * the new address is the account's, verified, and the old one is told (noticeFor). An unknown,
 * used or expired token is `400 invalid_verification_token`.
 */
export async function emailVerifyEndpoint(request: OAuthRequest, { workspace, audit, log }: EndpointContext): Promise<OAuthResponse> {
  audit.event = "account.email.verify";
  const token = (await readParams(request)).get("token");
  if (token === undefined) throw new InvalidRequest("token is required");
  const found = token.length <= 128 ? await findAccountToken(token, "email_verification", workspace.id) : { problem: "unknown" as const };
  if ("problem" in found) throw new InvalidVerificationToken(TOKEN_PROBLEMS[found.problem], { detail: `verification token: ${found.problem}` });
  if (found.user.disabled || found.email === null) throw new InvalidVerificationToken(TOKEN_PROBLEMS.unknown, { detail: "verification token: user disabled" });
  Object.assign(audit, { userId: found.user.id, username: found.user.username, accountable: true });
  const email = found.email;
  // The old address hears of it: whoever took the account by its address would otherwise go
  // unseen. Not when only the case of its letters changed: the same mailbox, told nothing new.
  const noticeOf = (replaced: string | null) =>
    replaced === null || sameMailbox(replaced, email) ? undefined : noticeFor(found.user.id, { kind: "email_changed", newEmail: email }, replaced);
  const confirmed = await confirmEmail(found.tokenHash, found.user.id, email, noticeOf);
  if ("problem" in confirmed) {
    throw new InvalidVerificationToken(TOKEN_PROBLEMS[confirmed.problem], { detail: `verification token: ${LOST_MEANWHILE[confirmed.problem]}` });
  }
  sendKept(confirmed.notice, log);
  return { status: 204, headers: { ...NO_STORE }, body: null };
}
