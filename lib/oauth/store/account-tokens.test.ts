import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { completePasswordReset, confirmEmail } from "@/lib/oauth/store/account-tokens.ts";
import { db } from "@/lib/platform/db.ts";

// A link found live, then lost before it was spent: spent by another request, or gone with its
// user. The endpoints answer each as what it is ("used", "not valid"), never a 500.

async function userWithLink(purpose: "password_reset" | "email_verification") {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const user = await db().user.create({ data: { workspaceId, username: `link-${randomUUID()}`, passwordHash: "x", email: "old@example.com" } });
  const tokenHash = randomUUID();
  await db().accountToken.create({
    data: { tokenHash, purpose, workspaceId, userId: user.id, email: "new@example.com", expiresAt: new Date(Date.now() + 3_600_000) },
  });
  return { user: { id: user.id, username: user.username, workspaceId }, tokenHash };
}

const spend = {
  "a password reset": (tokenHash: string, user: { id: string; username: string; workspaceId: string }) =>
    completePasswordReset({ tokenHash, email: null }, user, "a new hash"),
  "an address confirmation": (tokenHash: string, user: { id: string }) => confirmEmail(tokenHash, user.id, "new@example.com"),
};
const purposes = { "a password reset": "password_reset", "an address confirmation": "email_verification" } as const;

describe.each(Object.keys(spend) as (keyof typeof spend)[])("%s through a link lost meanwhile", (what) => {
  it("spent by another request: used, and nothing changes", async () => {
    const { user, tokenHash } = await userWithLink(purposes[what]);
    await db().accountToken.update({ where: { tokenHash }, data: { usedAt: new Date() } });
    expect(await spend[what](tokenHash, user)).toEqual({ problem: "used" });
    expect(await db().user.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ passwordHash: "x", email: "old@example.com" });
  });

  it("gone with its user: unknown", async () => {
    const { user, tokenHash } = await userWithLink(purposes[what]);
    await db().user.delete({ where: { id: user.id } });
    expect(await spend[what](tokenHash, user)).toEqual({ problem: "unknown" });
  });
});
