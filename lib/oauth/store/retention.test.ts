import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cli } from "@/lib/testing/cli.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { pruneExpired, stopPruning } from "@/lib/oauth/store/retention.ts";
import { logger } from "@/lib/platform/logger.ts";
import { postToken, SPA } from "@/lib/testing/oauth.ts";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
  return stopPruning();
});

const DAY = 86_400_000;

/** Rows of every kind, some past their time and some not, `now` being the prune's instant. */
async function seedRows(now: number) {
  const user = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  const client = await db().client.findFirstOrThrow({ where: { clientId: "demo-spa" } });
  const at = (ms: number) => new Date(now + ms);
  const session = (expiresIn: number) => ({
    id: randomUUID(),
    workspaceId: client.workspaceId,
    clientId: client.id,
    userId: user.id,
    amr: "pwd",
    authTime: 0,
    expiresAt: at(expiresIn),
  });
  const [gone, live] = [session(-1000), session(DAY)];
  await db().session.createMany({ data: [gone, live] });
  const token = (familyId: string, expiresIn: number) => ({
    tokenHash: randomUUID(),
    familyId,
    clientId: client.id,
    userId: user.id,
    scope: "openid",
    authTime: 0,
    expiresAt: at(expiresIn),
  });
  await db().refreshToken.createMany({ data: [token(gone.id, -1000), token(gone.id, -DAY), token(live.id, DAY)] });
  await db().revokedAccessToken.createMany({
    data: [
      { jti: randomUUID(), expiresAt: at(-1) },
      { jti: randomUUID(), expiresAt: at(3600_000) },
    ],
  });
  const failure = (ago: number) => ({ workspaceId: client.workspaceId, username: "alice", ip: "192.0.2.50", createdAt: at(-ago) });
  await db().failedLogin.createMany({ data: [failure(901_000), failure(2 * DAY), failure(1000)] });
  const bob = await db().user.findFirstOrThrow({ where: { username: "bob" } });
  await db().knownAddress.createMany({
    data: [
      { userId: user.id, address: "192.0.2.60", lastSignInAt: at(-31 * DAY) },
      { userId: bob.id, address: "192.0.2.60", lastSignInAt: at(-DAY) },
    ],
  });
  const event = (ago: number) => ({ event: "test.retention", outcome: "success", createdAt: at(-ago) });
  await db().auditEvent.createMany({ data: [event(91 * DAY), event(400 * DAY), event(89 * DAY)] });
  const challenge = (expiresIn: number) => ({
    tokenHash: randomUUID(),
    workspaceId: client.workspaceId,
    clientId: client.id,
    userId: user.id,
    scope: "openid",
    expiresAt: at(expiresIn),
  });
  await db().mfaChallenge.createMany({ data: [challenge(-1000), challenge(300_000)] });
  await db().usedClientAssertion.createMany({
    data: [
      { id: randomUUID(), expiresAt: at(-1) },
      { id: randomUUID(), expiresAt: at(330_000) },
    ],
  });
  await db().usedDpopProof.createMany({
    data: [
      { id: randomUUID(), expiresAt: at(-1) },
      { id: randomUUID(), expiresAt: at(120_000) },
    ],
  });
  // A mailed link counts for the mail limit for an hour after it is made, whatever its expiry.
  const link = (createdAgo: number, expiresIn: number) => ({
    tokenHash: randomUUID(),
    purpose: "password_reset",
    workspaceId: client.workspaceId,
    userId: user.id,
    createdAt: at(-createdAgo),
    expiresAt: at(expiresIn),
  });
  await db().accountToken.createMany({ data: [link(3_700_000, -1000), link(1_900_000, -100_000), link(60_000, 1_740_000)] });
  // A kept notice no server with mail has sent or given up two days after its change (mail was
  // off meanwhile) is forgotten; one as old under a claim or waiting for its next try, or younger, is not.
  const mail = (createdAgo: number, dueIn: number) => ({
    id: randomUUID(),
    userId: bob.id,
    job: "account.notice.password_changed",
    body: JSON.stringify({ notice: { kind: "password_changed", by: "user" } }),
    dueAt: at(dueIn),
    attempts: 2,
    createdAt: at(-createdAgo),
  });
  await db().pendingMail.createMany({ data: [mail(2 * DAY + 1000, -DAY), mail(2 * DAY + 1000, 60_000), mail(2 * DAY - 1000, -1000)] });
  return { live, bob };
}

describe("retention: expired and old rows are pruned", () => {
  it("deletes exactly what is past its time, in batches, and keeps the rest", async () => {
    const now = Date.now() + 10 * 365 * DAY; // far ahead: only the rows made here are at stake
    await db().refreshToken.deleteMany();
    await db().session.deleteMany();
    await db().auditEvent.deleteMany();
    await db().pendingMail.deleteMany();
    const { live, bob } = await seedRows(now);
    const errors = vi.spyOn(logger, "error");
    const pruned = await pruneExpired(new Date(now), 1);
    expect(pruned).toEqual({
      refreshTokens: 2,
      sessions: 1,
      revokedAccessTokens: 1,
      failedLogins: 2,
      knownAddresses: 1,
      mfaChallenges: 1,
      clientAssertions: 1,
      dpopProofs: 1,
      accountTokens: 1,
      auditEvents: 2,
      pendingMails: 1,
    });
    // The user was never told: an error that names them, as a sweep's giving up is.
    expect(errors.mock.calls.filter(([detail]) => (detail as { event?: string }).event === "mail.undelivered")).toEqual([
      [
        { event: "mail.undelivered", job: "account.notice.password_changed", userId: bob.id, attempts: 2, err: "no server with mail sent it" },
        "account.notice.password_changed: the user was not mailed, forgotten unsent",
      ],
    ]);
    expect(await db().pendingMail.count()).toBe(2);
    expect(await db().usedClientAssertion.count({ where: { expiresAt: { gt: new Date(now) } } })).toBe(1);
    expect(await db().usedDpopProof.count({ where: { expiresAt: { gt: new Date(now) } } })).toBe(1);
    expect(await db().session.findMany({ select: { id: true } })).toEqual([{ id: live.id }]);
    expect(await db().refreshToken.count()).toBe(1);
    expect(await db().accountToken.count()).toBe(2);
    expect(await db().auditEvent.count({ where: { event: "test.retention" } })).toBe(1);
    expect(await pruneExpired(new Date(now))).toEqual({
      refreshTokens: 0,
      sessions: 0,
      revokedAccessTokens: 0,
      failedLogins: 0,
      knownAddresses: 0,
      mfaChallenges: 0,
      clientAssertions: 0,
      dpopProofs: 0,
      accountTokens: 0,
      auditEvents: 0,
      pendingMails: 0,
    });
  });

  it("keeps reuse detection past a consumed token's own expiry, for as long as its session lives", async () => {
    const refresh = (refresh_token: string) => postToken({ grant_type: "refresh_token", refresh_token, ...SPA });
    const first = (await (
      await postToken({ grant_type: "password", ...SPA, username: "alice", password: "alice-password-1", scope: "openid offline_access" })
    ).json()) as {
      refresh_token: string;
    };
    const start = Date.now();
    const second = (await (await refresh(first.refresh_token)).json()) as { refresh_token: string };
    // A thief goes on refreshing; days later, past the first tokens' 7 days but within the
    // session's 30, the pruning has run and the rightful client presents the first token again.
    vi.useFakeTimers({ toFake: ["Date"], now: start + 5 * DAY });
    const stolen = await refresh(second.refresh_token);
    expect(stolen.status).toBe(200);
    const third = (await stolen.json()) as { refresh_token: string };
    vi.setSystemTime(start + 7.5 * DAY);
    await pruneExpired(new Date());
    const reuse = await refresh(first.refresh_token);
    expect(reuse.status).toBe(400);
    expect((await reuse.json()).error).toBe("invalid_grant");
    expect((await refresh(third.refresh_token)).status).toBe(400);
  });

  it("is a CLI command: npm run cli -- prune", async () => {
    await db().auditEvent.create({ data: { event: "test.retention.cli", outcome: "success", createdAt: new Date(Date.now() - 100 * DAY) } });
    const { status, out } = await cli(["prune"]);
    expect(status).toBe(0);
    expect(out).toMatch(/^kind\s+deleted\n/);
    expect(out).toMatch(/\nauditEvents\s+1\n/);
    expect(await db().auditEvent.count({ where: { event: "test.retention.cli" } })).toBe(0);
  });
});

describe("the server prunes by itself", () => {
  // Only the pruning timer is faked: the database calls run for real.
  const startedByARequest = async (interval: number, event: string) => {
    await stopPruning();
    vi.useFakeTimers({ toFake: ["setInterval"] });
    vi.spyOn(settings(), "PRUNE_INTERVAL_SECONDS", "get").mockReturnValue(interval);
    await db().auditEvent.create({ data: { event, outcome: "success", createdAt: new Date(Date.now() - 100 * DAY) } });
    await postToken({ grant_type: "password", ...SPA, username: "alice", password: "alice-password-1" });
    await vi.advanceTimersByTimeAsync(60_000);
    vi.useRealTimers();
    // The prune the timer started, if any, runs to its end (and no later than this test).
    await stopPruning();
    return db().auditEvent.count({ where: { event } });
  };

  it("every PRUNE_INTERVAL_SECONDS, once a request has started it", async () => {
    expect(await startedByARequest(1, "test.retention.timer")).toBe(0);
  });

  it("not at all with PRUNE_INTERVAL_SECONDS=0", async () => {
    expect(await startedByARequest(0, "test.retention.off")).toBe(1);
  });
});
