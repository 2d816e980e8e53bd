import { refusal } from "@/lib/testing/admin.ts";
import { describe, expect, it, vi } from "vitest";
import { addUser, listUsers, resetPassword, setUser, setUserDisabled } from "@/lib/admin/users.ts";
import { findAccountToken, issueAccountToken } from "@/lib/oauth/store/account-tokens.ts";
import { setWorkspace } from "@/lib/admin/workspaces.ts";
import { db } from "@/lib/platform/db.ts";
import { ALICE, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";

const W = "demo/default";

describe("users", () => {
  it("adds a user whose password is stored only as its argon2id hash; a second one of that name is refused", async () => {
    const { id } = await addUser({ workspace: W, username: "hana", password: "hana-password-1", email: "hana@example.com" });
    const row = await db().user.findUniqueOrThrow({ where: { id } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(await listUsers(W))).not.toContain("argon2");
    expect(await refusal(addUser({ workspace: W, username: "hana", password: "hana-password-1" }))).toBe("User hana exists already");
  });

  it.each([
    ["short", "The password must have at least 8 characters"],
    ["x".repeat(1025), "The password must have at most 1024 characters"],
    ["baseball1", "The password is too common: it is on a list of frequently used passwords"],
  ])("refuses the password %#", async (password, message) => {
    expect(await refusal(addUser({ workspace: W, username: "ivan", password }))).toBe(message);
    expect(await refusal(resetPassword(W, "alice", password))).toBe(message);
    expect(await db().user.count({ where: { username: "ivan" } })).toBe(0);
  });

  it("refuses a password built on the username or the email, when adding a user and when setting one", async () => {
    expect(await refusal(addUser({ workspace: W, username: "ivan", password: "Ivan2024!" }))).toBe(
      "The password must not be built on the username: without it, it must still have 8 characters",
    );
    expect(await refusal(addUser({ workspace: W, username: "ivan", email: "ivanov@example.com", password: "ivanov@example.com" }))).toBe(
      "The password must not be built on the email address: without it, it must still have 8 characters",
    );
    expect(await refusal(resetPassword(W, "alice", "alice-99"))).toBe(
      "The password must not be built on the username: without it, it must still have 8 characters",
    );
  });

  it("holds every password set to the workspace's minimum length", async () => {
    await setWorkspace(W, { passwordMinLength: 15 });
    expect(await refusal(addUser({ workspace: W, username: "ivan", password: "fourteen chars" }))).toBe("The password must have at least 15 characters");
    expect(await refusal(resetPassword(W, "alice", "fourteen chars"))).toBe("The password must have at least 15 characters");
    await addUser({ workspace: W, username: "ivan", password: "fifteen chars!!" });
    expect(await refusal(setWorkspace(W, { passwordMinLength: 7 }))).toBe("Invalid password minimum length (8 to 64): Too small: expected number to be >=8");
    await setWorkspace(W, { passwordMinLength: 8 });
  });

  it("asks for the password only once the rest is known to be good", async () => {
    const ask = vi.fn(async () => "never-asked-for");
    expect(await refusal(addUser({ workspace: W, username: " padded", password: ask }))).toBe("Invalid username: no leading or trailing spaces");
    expect(await refusal(addUser({ workspace: "nope/none", username: "x", password: ask }))).toBe("No workspace nope/none");
    expect(await refusal(resetPassword(W, "nobody", ask))).toBe("No user nobody in demo/default");
    expect(await refusal(addUser({ workspace: W, username: "alice", password: ask }))).toBe("User alice exists already");
    expect(ask).not.toHaveBeenCalled();
  });

  it("spends the links mailed to a user's old address when an operator sets a new one", async () => {
    const bob = await db().user.findFirstOrThrow({ where: { username: "bob" } });
    const reset = await issueAccountToken({ purpose: "password_reset", workspaceId: bob.workspaceId, userId: bob.id, ttlSeconds: 1800, limit: 3 });
    const change = await issueAccountToken({
      purpose: "email_verification",
      workspaceId: bob.workspaceId,
      userId: bob.id,
      email: "bob@elsewhere.example",
      ttlSeconds: 3600,
      limit: 3,
    });
    // A change that keeps the address leaves them.
    await setUser(W, "bob", { name: "Bob Example" });
    expect(await findAccountToken(reset ?? "", "password_reset", bob.workspaceId)).toMatchObject({ userId: bob.id });
    await setUser(W, "bob", { email: "bob@new.example" });
    expect(await findAccountToken(reset ?? "", "password_reset", bob.workspaceId)).toEqual({ problem: "used" });
    expect(await findAccountToken(change ?? "", "email_verification", bob.workspaceId)).toEqual({ problem: "used" });
  });

  it("refuses to disable a user who does not exist", async () => {
    expect(await refusal(setUserDisabled(W, "nobody", true))).toBe("No user nobody in demo/default");
  });

  it("resets a password: the user's sessions end and their refresh tokens are revoked, nobody else's", async () => {
    await signIn();
    await signIn();
    const bob = await signIn({ ...SPA, username: "bob", password: "bob-password-1" });
    const alice = await db().user.findFirstOrThrow({ where: { username: "alice" } });

    await resetPassword(W, "alice", "alice-password-2");

    const sessions = await db().session.findMany({ where: { userId: alice.id } });
    expect(sessions.length).toBeGreaterThanOrEqual(2);
    expect(sessions.every((s) => s.endedAt !== null)).toBe(true);
    const tokens = await db().refreshToken.findMany({ where: { userId: alice.id } });
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(tokens.every((t) => t.revokedAt !== null)).toBe(true);
    expect((await postToken({ grant_type: "refresh_token", refresh_token: bob.refresh_token, ...SPA })).status).toBe(200);
    expect((await postToken({ grant_type: "password", ...SPA, ...ALICE })).status).toBe(400);
    expect(await db().auditEvent.findFirst({ where: { event: "admin.user.reset_password", userId: alice.id } })).toMatchObject({
      username: "alice",
      outcome: "success",
    });
  });
});
