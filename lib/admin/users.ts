import { z } from "zod";
import { AdminError } from "@/lib/admin/errors.ts";
import { endUserSessions } from "@/lib/oauth/store/sessions.ts";
import { change } from "@/lib/admin/transaction.ts";
import { valid } from "@/lib/admin/values.ts";
import { workspaceByRef } from "@/lib/admin/workspaces.ts";
import { db } from "@/lib/platform/db.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";

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

/** The password, checked: 8 to 1024 characters (argon2 hashes whatever it is given). */
async function newPassword(password: NewPassword): Promise<string> {
  const value = typeof password === "string" ? password : await password();
  if (value.length < 8) throw new AdminError("The password must have at least 8 characters");
  if (value.length > 1024) throw new AdminError("The password must have at most 1024 characters");
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
  if (user.email !== undefined) valid(z.email(), user.email, "email");
  const passwordHash = await hashPassword(await newPassword(user.password));
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
 * old password is signed out everywhere (every access token of an ended session is refused).
 */
export async function resetPassword(workspace: string, username: string, password: NewPassword): Promise<void> {
  const w = await workspaceByRef(workspace);
  const existing = await db().user.findUnique({ where: { workspaceId_username: { workspaceId: w.id, username } } });
  if (!existing) throw new AdminError(`No user ${username} in ${workspace}`);
  const passwordHash = await hashPassword(await newPassword(password));
  await change("user.reset_password", { workspaceId: w.id, userId: existing.id, username }, async (tx) => {
    await tx.user.update({ where: { id: existing.id }, data: { passwordHash } });
    await endUserSessions(existing.id, tx);
  });
}
