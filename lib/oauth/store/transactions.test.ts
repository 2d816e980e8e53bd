import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { addClient, deleteClient, rotateClientSecret, setClient } from "@/lib/admin/clients.ts";
import { db, inOpenTransaction } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { completePasswordReset, confirmEmail } from "@/lib/oauth/store/account-tokens.ts";
import { confirmFactor, removeFactors, replaceRecoveryCodes, startEnrolment } from "@/lib/oauth/store/mfa.ts";
import { mailKeptByChange } from "@/lib/oauth/store/pending-mails.ts";
import { endSessionOf } from "@/lib/oauth/store/sessions.ts";
import { changePassword } from "@/lib/oauth/store/users.ts";

// On SQLite one connection serves every query, so a statement another request runs while an
// interactive transaction is open runs inside it (and is undone if it rolls back): a refresh
// answered with new tokens whose rotation is then rolled back. So no interactive transaction a
// server runs may give the event loop a turn before it ends (see inOpenTransaction). PostgreSQL
// gives each transaction a connection of its own: nothing to check there.
const onSqlite = settings().databaseFile !== undefined;

/** A notice for the user, to keep with a change. */
const notice = (userId: string) => mailKeptByChange({ userId, job: "account.notice.test", body: "{}" });

/** Runs `work`; answers how many turns of the event loop found a transaction open meanwhile. */
async function turnsInsideATransaction(work: () => Promise<unknown>): Promise<number> {
  let inside = 0;
  let running = true;
  const watch = () => {
    if (!running) return;
    if (inOpenTransaction(db())) inside += 1;
    setImmediate(watch);
  };
  setImmediate(watch);
  try {
    await work();
  } finally {
    running = false;
  }
  return inside;
}

describe.runIf(onSqlite)("the server's interactive transactions on SQLite give the event loop no turn while open", () => {
  it("a transaction that waits for the event loop is seen (the check can fail)", async () => {
    await db().user.count();
    expect(
      await turnsInsideATransaction(() =>
        db().$transaction(async (tx) => {
          await tx.user.count();
          await new Promise((resolve) => setImmediate(resolve));
        }),
      ),
    ).toBeGreaterThan(0);
  });

  it("the account's: a new password, a reset, a confirmed address, ending one session", async () => {
    const workspaceId = (await db().workspace.findFirstOrThrow()).id;
    const user = await db().user.create({ data: { workspaceId, username: `tx-${randomUUID()}`, passwordHash: "x" } });
    const who = { id: user.id, username: user.username, workspaceId };
    const clientId = (await db().client.findFirstOrThrow()).id;
    const session = await db().session.create({
      data: { id: randomUUID(), workspaceId, clientId, userId: user.id, amr: "pwd", authTime: 0, expiresAt: new Date(Date.now() + 60_000) },
    });
    const link = randomUUID();
    await db().accountToken.create({
      data: { tokenHash: link, purpose: "email_verification", workspaceId, userId: user.id, email: "tx@example.com", expiresAt: new Date(Date.now() + 60_000) },
    });
    // Each with the notice its change keeps (keepMailIn).
    for (const work of [
      () => changePassword(user.id, "y", { sessionId: session.id, whilePassword: "x" }, notice(user.id)),
      () => completePasswordReset({ tokenHash: "no-such-token", email: null }, who, "z", notice(user.id)),
      () => confirmEmail(link, user.id, "tx@example.com", () => notice(user.id)),
      () => endSessionOf(user.id, randomUUID()),
    ]) {
      expect(await turnsInsideATransaction(work)).toBe(0);
    }
  });

  it("MFA enrolment and new recovery codes", async () => {
    const workspaceId = (await db().workspace.findFirstOrThrow()).id;
    const user = await db().user.create({ data: { workspaceId, username: `tx-${randomUUID()}`, passwordHash: "x" } });
    let factorId = "";
    expect(await turnsInsideATransaction(async () => (factorId = await startEnrolment(user.id, "JBSWY3DPEHPK3PXP", ["a", "b"])))).toBe(0);
    expect(await turnsInsideATransaction(() => replaceRecoveryCodes(user.id, factorId, ["c", "d"], notice(user.id)))).toBe(0);
    expect(await turnsInsideATransaction(() => confirmFactor(user.id, factorId, new Date(), notice(user.id)))).toBe(0);
    expect(await turnsInsideATransaction(() => removeFactors(user.id, notice(user.id)))).toBe(0);
    // Each kept its notice.
    expect(await db().pendingMail.count({ where: { userId: user.id } })).toBe(3);
  });

  it("the admin changes dynamic registration makes (in the server): add, set, rotate, delete", async () => {
    const clientId = `tx-${randomUUID().slice(0, 8)}`;
    for (const work of [
      () => addClient({ workspace: "demo/default", clientId, grants: ["client_credentials"], scopes: ["introspect_tokens"] }, clientId),
      () => setClient("demo/default", clientId, { name: "Changed" }, clientId),
      () => rotateClientSecret("demo/default", clientId),
      () => deleteClient("demo/default", clientId, undefined, clientId),
    ]) {
      expect(await turnsInsideATransaction(work)).toBe(0);
    }
  });
});
