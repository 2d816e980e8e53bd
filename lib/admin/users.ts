import { z } from "zod";
import { AdminError, NothingToChange } from "@/lib/admin/errors.ts";
import {
  confirmDeletion,
  deleteSessionsFirst,
  deletionReason,
  impactOf,
  longestAccessTokenTtl,
  type ConfirmDeletion,
  type Deletion,
} from "@/lib/admin/deletions.ts";
import { sameMailbox } from "@/lib/oauth/store/account-tokens.ts";
import { replacePassword, takeUserRow } from "@/lib/oauth/store/users.ts";
import { noticeFor, sendKept } from "@/lib/oauth/endpoints/account/notices.ts";
import { keepMailIn } from "@/lib/oauth/store/pending-mails.ts";
import { logger } from "@/lib/platform/logger.ts";
import { renameReason } from "@/lib/oauth/store/activity.ts";
import { change } from "@/lib/admin/transaction.ts";
import { ifGiven, valid } from "@/lib/admin/values.ts";
import { workspaceByRef } from "@/lib/admin/workspaces.ts";
import { db } from "@/lib/platform/db.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";
import { passwordViolation, type PasswordOwner, type PasswordPolicy } from "@/lib/platform/password-policy.ts";

/**
 * A new password, or how to ask for it: it is asked for only once the rest of the command is
 * known to be good, so that an operator is not prompted only to be refused.
 */
export type NewPassword = string | (() => Promise<string>);

const USERNAME = z
  .string()
  .min(1)
  .max(255)
  .regex(/^\S(.*\S)?$/, "no leading or trailing spaces");

const EMAIL = z.email();

/** The password, checked against the workspace's password policy (lib/platform/password-policy.ts). */
async function newPassword(password: NewPassword, workspace: PasswordPolicy, owner: PasswordOwner): Promise<string> {
  const value = typeof password === "string" ? password : await password();
  if (value === "") throw new AdminError("No password was given");
  const violation = await passwordViolation(value, workspace, owner);
  if (violation) throw new AdminError(violation.description.charAt(0).toUpperCase() + violation.description.slice(1));
  return value;
}

export interface UserSummary {
  id: string;
  username: string;
  email: string | null;
  name: string | null;
  disabled: boolean;
}

/** The users of a workspace, by username. */
export async function listUsers(workspace: string): Promise<UserSummary[]> {
  const w = await workspaceByRef(workspace);
  return db().user.findMany({
    where: { workspaceId: w.id },
    orderBy: { username: "asc" },
    select: { id: true, username: true, email: true, name: true, disabled: true },
  });
}

export interface NewUser {
  /** `tenant/workspace` */
  workspace: string;
  username: string;
  password: NewPassword;
  email?: string;
  name?: string;
  emailVerified?: boolean;
}

/** Adds a user to a workspace's identity pool; the password is stored only as its argon2id hash. */
export async function addUser(user: NewUser): Promise<{ id: string }> {
  const w = await workspaceByRef(user.workspace);
  const username = valid(USERNAME, user.username, "username");
  if (user.email !== undefined) valid(EMAIL, user.email, "email");
  // Before the password is asked for (checked again in the transaction below, for a race).
  if (await db().user.findUnique({ where: { workspaceId_username: { workspaceId: w.id, username } } })) throw new AdminError(`User ${username} exists already`);
  const passwordHash = await hashPassword(await newPassword(user.password, { minLength: w.passwordMinLength }, { username, email: user.email }));
  return change("user.add", { workspaceId: w.id, username }, async (tx) => {
    if (await tx.user.findUnique({ where: { workspaceId_username: { workspaceId: w.id, username } } })) throw new AdminError(`User ${username} exists already`);
    const created = await tx.user.create({
      data: { workspaceId: w.id, username, passwordHash, email: user.email, name: user.name, emailVerified: user.emailVerified ?? false },
    });
    return { id: created.id };
  });
}

/** Disables a user (who can then neither sign in nor refresh), or enables them again. */
export async function setUserDisabled(workspace: string, username: string, disabled: boolean): Promise<void> {
  const w = await workspaceByRef(workspace);
  await change(disabled ? "user.disable" : "user.enable", { workspaceId: w.id, username }, async (tx) => {
    const { count } = await tx.user.updateMany({ where: { workspaceId: w.id, username }, data: { disabled } });
    if (count === 0) throw new AdminError(`No user ${username} in ${workspace}`);
  });
}

/**
 * Sets a user's password, ends their sessions and revokes their refresh tokens: whoever knew the
 * old password is signed out everywhere (every access token of an ended session is refused), and
 * the addresses they signed in from are no longer known (replacePassword). The user is mailed a
 * notice, kept with the change (noticeFor).
 */
export async function resetPassword(workspace: string, username: string, password: NewPassword): Promise<void> {
  const w = await workspaceByRef(workspace);
  const existing = await db().user.findUnique({ where: { workspaceId_username: { workspaceId: w.id, username } } });
  if (!existing) throw new AdminError(`No user ${username} in ${workspace}`);
  const passwordHash = await hashPassword(await newPassword(password, { minLength: w.passwordMinLength }, existing));
  const notice = noticeFor(existing.id, { kind: "password_changed", how: "administrator" });
  await change("user.reset_password", { workspaceId: w.id, userId: existing.id, username }, async (tx) => {
    await replacePassword(tx, existing.id, passwordHash);
    await keepMailIn(tx, notice);
  });
  sendKept(notice, logger);
}

/** The user `username` of a workspace, or an AdminError. */
async function userByName(workspace: string, username: string) {
  const w = await workspaceByRef(workspace);
  const user = await db().user.findUnique({ where: { workspaceId_username: { workspaceId: w.id, username } } });
  if (!user) throw new AdminError(`No user ${username} in ${workspace}`);
  return { w, user };
}

export interface UserChanges {
  /** A new username: unique in the workspace. */
  username?: string;
  /** null (or "") removes it. */
  name?: string | null;
  /** null (or "") removes it; a new email is unverified unless `emailVerified` says otherwise. */
  email?: string | null;
  emailVerified?: boolean;
}

/**
 * Changes a user's username, name or email; at least one must be given. Their sessions and tokens
 * go on: tokens name the user by id (`sub`), and what introspection and userinfo say of the user
 * is read afresh at each call.
 */
export async function setUser(workspace: string, username: string, changes: UserChanges): Promise<void> {
  const blankIsNull = (v: string | null) => (v === null || v === "" ? null : v);
  const email = ifGiven(changes.email, (v) => (blankIsNull(v) === null ? null : valid(EMAIL, v, "email")));
  const data = {
    username: ifGiven(changes.username, (v) => valid(USERNAME, v, "username")),
    name: ifGiven(changes.name, blankIsNull),
    email,
    emailVerified: changes.emailVerified ?? (email === undefined ? undefined : false),
  };
  const changed = Object.entries(data)
    .filter(([, v]) => v !== undefined)
    .map(([k]) => k);
  if (changed.length === 0) throw new NothingToChange();
  const { w, user } = await userByName(workspace, username);
  const renamed = data.username !== undefined && data.username !== username;
  const reason = changed.map((k) => (k === "username" && renamed ? renameReason(username) : k)).join(", ");
  const notice = await change("user.set", { workspaceId: w.id, userId: user.id, username: data.username ?? username, reason }, async (tx) => {
    // The address as it is now, the user's row taken first (a confirmation of the user's own may
    // have changed it since it was read above).
    const before = (await takeUserRow(tx, user.id)) ? await tx.user.findUnique({ where: { id: user.id }, select: { email: true } }) : null;
    if (!before) throw new AdminError(`No user ${username} in ${workspace}`);
    if (renamed && (await tx.user.findUnique({ where: { workspaceId_username: { workspaceId: w.id, username: data.username ?? "" } } })))
      throw new AdminError(`User ${data.username} exists already`);
    await tx.user.update({ where: { id: user.id }, data });
    // A new address (or none): the links mailed to the old one, password resets and a pending
    // change of address alike, are spent, as when the user confirms a new address themselves; the
    // old mailbox may be no longer theirs, and a pending change would overwrite this one.
    if (email !== undefined && email !== before.email)
      await tx.accountToken.updateMany({ where: { userId: user.id, usedAt: null }, data: { usedAt: new Date() } });
    // To the address it had: its owner learns of it, whether or not they asked for it. Not when only
    // the case of its letters changed: the same mailbox, told nothing new (as for the user's own change).
    const told =
      email !== undefined && before.email !== null && (email === null || !sameMailbox(email, before.email))
        ? noticeFor(user.id, { kind: "email_changed", newEmail: email, by: "administrator" }, before.email)
        : undefined;
    await keepMailIn(tx, told);
    return told;
  });
  sendKept(notice, logger);
}

/**
 * Deletes a user with their sessions, refresh tokens, second factors and known addresses (see
 * Deletion for their access tokens). `confirm` is asked once the user is known to exist.
 */
export async function deleteUser(workspace: string, username: string, confirm?: ConfirmDeletion): Promise<Deletion> {
  const { w, user } = await userByName(workspace, username);
  const ttl = await longestAccessTokenTtl(db(), w);
  await confirmDeletion(await impactOf(db(), { userId: user.id }, ttl), confirm);
  return change<Deletion>(
    "user.delete",
    (impact) => ({ workspaceId: w.id, userId: user.id, username, reason: deletionReason(`user ${username}`, impact) }),
    async (tx) => {
      const impact = await impactOf(tx, { userId: user.id }, ttl);
      await deleteSessionsFirst(tx, { userId: user.id });
      const { count } = await tx.user.deleteMany({ where: { id: user.id } });
      if (count === 0) throw new AdminError(`No user ${username} in ${workspace}`);
      return impact;
    },
  );
}
