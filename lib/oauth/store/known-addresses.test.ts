import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { db, isPostgresUrl } from "@/lib/platform/db.ts";
import { endSession, startSession } from "@/lib/oauth/store/sessions.ts";
import { rememberAddress, replacePassword } from "@/lib/oauth/store/users.ts";

// The addresses a user is known from (lib/oauth/defence/brute-force.ts spares them the lockout's
// account limits) are forgotten by a change of password, with every session: an address must not
// be remembered for a sign-in whose session that change ended, whenever the change came.

const HOUR_MS = 3_600_000;
const onPostgres = isPostgresUrl(process.env.DATABASE_URL ?? "");

/** A new user of the demo workspace. */
async function newUser(): Promise<string> {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  return (await db().user.create({ data: { workspaceId, username: `known-${randomUUID()}`, passwordHash: "old-hash" } })).id;
}

/** A session of the user's, signed in through demo-web: its id. */
async function sessionOf(userId: string): Promise<string> {
  const { workspaceId } = await db().user.findUniqueOrThrow({ where: { id: userId } });
  const clientId = (await db().client.findFirstOrThrow({ where: { clientId: "demo-web" } })).id;
  const now = Date.now();
  const { session } = await startSession({
    workspaceId,
    clientId,
    userId,
    amr: ["pwd"],
    authTime: Math.floor(now / 1000),
    dpopJkt: null,
    ttl: 3600,
    now,
    device: { ip: "203.0.113.7", userAgent: undefined },
  });
  return session.id;
}

async function signedIn(): Promise<{ userId: string; sessionId: string }> {
  const userId = await newUser();
  return { userId, sessionId: await sessionOf(userId) };
}

const addressesOf = async (userId: string) =>
  (await db().knownAddress.findMany({ where: { userId }, orderBy: { address: "asc" } })).map((row) => [row.address, row.lastSignInAt.getTime()]);

/** A change of password by an operator (every session ends, every address is forgotten), in its own transaction. */
const changePassword = (userId: string) => db().$transaction((tx) => replacePassword(tx, userId, "new-hash"));

describe("rememberAddress", () => {
  it("remembers a live session's address, and brings a known one's last sign-in forward", async () => {
    const { userId, sessionId } = await signedIn();
    const first = new Date(Date.now() - 2 * 24 * HOUR_MS);
    await rememberAddress(userId, "203.0.113.0/24", first, sessionId, false);
    expect(await addressesOf(userId)).toEqual([["203.0.113.0/24", first.getTime()]]);
    const again = new Date();
    await rememberAddress(userId, "203.0.113.0/24", again, sessionId, true);
    // Read as new by two sign-ins at once: the second finds it written, and brings it forward.
    const later = new Date(again.getTime() + 1000);
    await rememberAddress(userId, "203.0.113.0/24", later, sessionId, false);
    // Read as known, but forgotten since (pruned): written again.
    await rememberAddress(userId, "198.51.100.0/24", again, sessionId, true);
    expect(await addressesOf(userId)).toEqual([
      ["198.51.100.0/24", again.getTime()],
      ["203.0.113.0/24", later.getTime()],
    ]);
  });

  it("remembers nothing, new or known, for a sign-in whose session a change of password ended before the write", async () => {
    const { userId, sessionId } = await signedIn();
    const earlier = await sessionOf(userId);
    await rememberAddress(userId, "203.0.113.0/24", new Date(Date.now() - 2 * 24 * HOUR_MS), earlier, false);
    await changePassword(userId);
    expect(await addressesOf(userId)).toEqual([]);
    // The sign-in read 203.0.113.0/24 as known, and 198.51.100.0/24 as new, before the change.
    await rememberAddress(userId, "203.0.113.0/24", new Date(), sessionId, true);
    await rememberAddress(userId, "198.51.100.0/24", new Date(), sessionId, false);
    expect(await addressesOf(userId)).toEqual([]);
  });

  it("brings nothing forward, and adds nothing, for a sign-in whose session was signed out before the write", async () => {
    const { userId, sessionId } = await signedIn();
    const first = new Date(Date.now() - 2 * 24 * HOUR_MS);
    await rememberAddress(userId, "203.0.113.0/24", first, await sessionOf(userId), false);
    // Signed out (not a change of password: the addresses stay).
    await endSession(sessionId);
    await rememberAddress(userId, "203.0.113.0/24", new Date(), sessionId, true);
    await rememberAddress(userId, "198.51.100.0/24", new Date(), sessionId, false);
    expect(await addressesOf(userId)).toEqual([["203.0.113.0/24", first.getTime()]]);
  });

  it("remembers nothing for a sign-in whose address is written while a change of password is under way", async () => {
    const { userId, sessionId } = await signedIn();
    await rememberAddress(userId, "203.0.113.0/24", new Date(Date.now() - 2 * 24 * HOUR_MS), await sessionOf(userId), false);
    let writes: Promise<PromiseSettledResult<void>[]> | undefined;
    let settledBeforeCommit = false;
    await db().$transaction(async (tx) => {
      await replacePassword(tx, userId, "new-hash");
      // The change has ended the sessions and deleted the addresses, and is not committed yet.
      writes = Promise.allSettled([
        rememberAddress(userId, "198.51.100.0/24", new Date(), sessionId, false),
        rememberAddress(userId, "203.0.113.0/24", new Date(), sessionId, true),
      ]);
      void writes.then(() => (settledBeforeCommit = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    // On PostgreSQL both writes waited for the change's locks (on SQLite, one connection, they ran
    // inside its transaction, after what it had written).
    if (onPostgres) expect(settledBeforeCommit).toBe(false);
    expect((await writes)?.map((result) => result.status)).toEqual(["fulfilled", "fulfilled"]);
    expect(await addressesOf(userId)).toEqual([]);
    expect((await db().session.findUniqueOrThrow({ where: { id: sessionId } })).endedAt).not.toBeNull();
  });
});
