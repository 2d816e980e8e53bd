import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { flushAudit } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { assertWithinBudget, spendBudget } from "@/lib/oauth/defence/request-budget.ts";
import { TooManyRequests } from "@/lib/oauth/protocol/errors.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { ALICE, call, callUserinfo, ISSUER, postRevoke, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";

beforeEach(() => {
  vi.spyOn(settings(), "UNAUTHENTICATED_FAILURE_LIMIT", "get").mockReturnValue(20);
  clearCaches();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

let n = 0;
const newIp = () => `198.18.7.${++n}`;
const from = (ip: string) => ({ [PEER_HEADER]: peerHeaderValue(ip) });
const junk = (ip: string) => postToken("grant_type=junk&client_id=nope", from(ip));

describe("unauthenticated failures are counted per address before they cost a write", () => {
  it("answers 429 with Retry-After past the budget, and writes nothing for those", async () => {
    const ip = newIp();
    // Inside one minute, so that the count is not split at a minute's turn.
    vi.useFakeTimers({ toFake: ["Date"], now: Math.floor(Date.now() / 60_000) * 60_000 + 60_000 + 5_000 });
    for (let i = 0; i < 20; i++) expect((await junk(ip)).status).toBe(401);
    const refused = await junk(ip);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("55");
    expect(refused.headers.get("cache-control")).toBe("no-store");
    expect(await refused.json()).toEqual({ error: "too_many_requests", error_description: "too many failed requests from this address; try again later" });
    // Even a request that would succeed: the address is refused until the minute ends.
    expect((await postToken({ grant_type: "password", ...SPA, ...ALICE }, from(ip))).status).toBe(429);
    await flushAudit();
    const rows = await db().auditEvent.findMany({ where: { ip } });
    expect(rows.map((r) => [r.event, r.outcome, r.count, r.clientId])).toEqual([["token.other", "failure", 20, null]]);
    // Another address is not affected.
    expect((await postToken({ grant_type: "password", ...SPA, ...ALICE }, from(newIp()))).status).toBe(200);
  });

  it("keeps the email confirmations' own budget: junk confirmations sent through the login app's server cannot stop its sign-ins", async () => {
    // The login app posts the link's token for whoever submits its form: every failure comes from its address.
    const loginApp = newIp();
    vi.useFakeTimers({ toFake: ["Date"], now: Math.floor(Date.now() / 60_000) * 60_000 + 180_000 + 5_000 });
    const verify = () => call(routes.accountEmailVerify, `${ISSUER}/account/email/verify`, { body: { token: "x".repeat(43) }, headers: from(loginApp) });
    for (let i = 0; i < 20; i++) expect((await verify()).status).toBe(400);
    expect((await verify()).status).toBe(429);
    // Its sign-ins go on.
    expect((await postToken({ grant_type: "password", ...SPA, ...ALICE }, from(loginApp))).status).toBe(200);
    // And the other way round: junk elsewhere does not stop its confirmations.
    for (let i = 0; i < 20; i++) await junk(loginApp);
    expect((await junk(loginApp)).status).toBe(429);
    vi.setSystemTime(Date.now() + 60_000);
    for (let i = 0; i < 20; i++) await junk(loginApp);
    expect((await verify()).status).toBe(400);
  });

  it("aggregates: one audit row per address, event and minute, with its count", async () => {
    const ip = newIp();
    const minute = Math.floor(Date.now() / 60_000) * 60_000 + 120_000;
    vi.useFakeTimers({ toFake: ["Date"], now: minute + 1_000 });
    for (let i = 0; i < 3; i++) await junk(ip);
    await postToken({ grant_type: "password", client_id: "nope", ...ALICE }, from(ip));
    vi.setSystemTime(minute + 61_000);
    for (let i = 0; i < 2; i++) await junk(ip);
    await flushAudit();
    const rows = await db().auditEvent.findMany({ where: { ip }, orderBy: [{ createdAt: "asc" }, { event: "asc" }] });
    expect(rows.map((r) => [r.event, r.count, r.createdAt.getTime() - minute])).toEqual([
      ["token.other", 3, 1_000],
      ["token.password", 1, 1_000],
      ["token.other", 2, 61_000],
    ]);
    expect(rows[1]!.reason).toBe("unknown client");
  });

  it("an aggregated row names a user or client only when all its attempts named the same", async () => {
    const [same, mixed] = [newIp(), newIp()];
    const minute = Math.floor(Date.now() / 60_000) * 60_000 + 180_000;
    vi.useFakeTimers({ toFake: ["Date"], now: minute + 1_000 });
    // Refused before the password is checked (a scope the client may not have): not an attempt at
    // the user's password, so counted, with the username it named.
    const attempt = (ip: string, username: string) =>
      postToken({ grant_type: "password", ...SPA, username, password: "x", scope: "openid no-such-scope" }, from(ip));
    for (const [ip, username] of [
      [same, "alice"],
      [same, "alice"],
      [mixed, "alice"],
      [mixed, "bob"],
    ] as const) {
      expect((await attempt(ip, username)).status).toBe(400);
    }
    await flushAudit();
    const row = async (ip: string) => {
      const [only, ...more] = await db().auditEvent.findMany({ where: { ip } });
      expect(more).toEqual([]);
      return [only!.count, only!.username, only!.clientId];
    };
    expect(await row(same)).toEqual([2, "alice", SPA.client_id]);
    // Alice's activity list reads rows by her username: bob's attempt must not be counted there.
    expect(await row(mixed)).toEqual([2, null, SPA.client_id]);
  });

  it("still writes a row for each authenticated failure (a wrong password)", async () => {
    const ip = newIp();
    for (let i = 0; i < 3; i++) await postToken({ grant_type: "password", ...SPA, username: "alice", password: "wrong" }, from(ip));
    await flushAudit();
    const rows = await db().auditEvent.findMany({ where: { ip } });
    expect(rows.map((r) => [r.event, r.count, r.reason])).toEqual(Array(3).fill(["token.password", 1, "wrong password"]));
  });

  it("refuses a request our server stamped without an address (never falls back to a header)", async () => {
    const res = await postToken({ grant_type: "password", ...SPA, ...ALICE }, { [PEER_HEADER]: peerHeaderValue(""), "x-forwarded-for": "203.0.113.10" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: "the client's address is unknown" });
    expect(await db().failedLogin.count({ where: { ip: "203.0.113.10" } })).toBe(0);
  });
});

describe("what spends the budget", () => {
  it("not a token we issued whose session has ended (the login app checks sessions with them)", async () => {
    const ip = newIp();
    const tokens = await signIn();
    await postRevoke({ ...SPA, token: tokens.refresh_token });
    for (let i = 0; i < 25; i++) expect((await callUserinfo({ headers: { Authorization: `Bearer ${tokens.access_token}`, ...from(ip) } })).status).toBe(401);
    expect((await postToken({ grant_type: "password", ...SPA, ...ALICE }, from(ip))).status).toBe(200);
  });

  it("a public client's junk: naming a published client_id does not make a request accountable", async () => {
    const ip = newIp();
    vi.useFakeTimers({ toFake: ["Date"], now: Math.floor(Date.now() / 60_000) * 60_000 + 180_000 + 5_000 });
    for (let i = 0; i < 20; i++) expect((await postToken({ grant_type: "refresh_token", ...SPA, refresh_token: `nope-${i}` }, from(ip))).status).toBe(400);
    expect((await postToken({ grant_type: "refresh_token", ...SPA, refresh_token: "nope" }, from(ip))).status).toBe(429);
    await flushAudit();
    expect((await db().auditEvent.findMany({ where: { ip } })).map((r) => [r.event, r.clientId, r.count])).toEqual([["token.refresh_token", "demo-spa", 20]]);
  });

  it("not a public client's wrong passwords: the brute-force defence counts those, one audit row each", async () => {
    const ip = newIp();
    for (let i = 0; i < 25; i++) expect((await postToken({ grant_type: "password", ...SPA, username: "alice", password: "wrong" }, from(ip))).status).toBe(400);
    expect((await postToken({ grant_type: "password", ...SPA, ...ALICE }, from(ip))).status).toBe(200);
  });

  it("counts an IPv6 /64 as one address, in the budget and in the audit trail's counts", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Math.floor(Date.now() / 60_000) * 60_000 + 240_000 + 5_000 });
    for (let i = 1; i <= 20; i++) await junk(`2001:db8:77::${i.toString(16)}`);
    expect((await junk("2001:db8:77::ffff")).status).toBe(429);
    await flushAudit();
    const rows = await db().auditEvent.findMany({ where: { ip: { startsWith: "2001:db8:77::" } } });
    expect(rows.map((r) => [r.ip, r.count])).toEqual([["2001:db8:77::1", 20]]);
  });
});

// More sources in one minute than the budget counts one by one (100,000 groups): cheap to have
// with IPv6, where a site's /48 holds 65,536 /64s. The budget's own functions, at one instant.
describe("an attacker with more address groups than the budget counts one by one", () => {
  const LIMIT = 20;
  const at = Math.floor(Date.now() / 60_000) * 60_000 + 600_000 + 5_000;
  const refused = (ip: string) => {
    try {
      assertWithinBudget(ip, undefined, at);
      return false;
    } catch (err) {
      if (err instanceof TooManyRequests) return true;
      throw err;
    }
  };
  /** One failure from each of the first `count` /64s of the /48 `2001:db8:<site>::`. */
  const fromSite = (site: number, count: number) => {
    for (let i = 0; i < count; i++) spendBudget(`2001:db8:${site.toString(16)}:${i.toString(16)}::1`, undefined, at);
  };

  it("spends only its own networks' budgets: addresses new that minute elsewhere are served", () => {
    fromSite(1, 65_536);
    fromSite(2, 34_464);
    // Every group is counted now; the attacker's next /64s count against their /48.
    for (let i = 0; i < LIMIT; i++) spendBudget(`2001:db8:2:${(40_000 + i).toString(16)}::1`, undefined, at);
    expect(refused("2001:db8:2:ffff::1")).toBe(true);
    // Refused before: all new groups shared one bucket, spent by the attacker.
    expect(refused("2001:db8:3::1")).toBe(false);
    expect(refused("198.51.100.9")).toBe(false);
    expect(refused("2001:db8:1::1")).toBe(false);
    // Each new network keeps a budget of its own.
    for (let i = 0; i < LIMIT; i++) spendBudget(`198.51.100.${i}`, undefined, at);
    expect(refused("198.51.100.200")).toBe(true);
    expect(refused("198.51.101.1")).toBe(false);
  });

  it("past as many networks as it counts too, a new one is neither counted nor refused", () => {
    fromSite(1, 65_536);
    fromSite(2, 34_464);
    for (let site = 0x100; site < 0x100 + 10_000; site++) spendBudget(`2001:db8:${site.toString(16)}::1`, undefined, at);
    for (let i = 0; i < 2 * LIMIT; i++) spendBudget("2001:db9::1", undefined, at);
    expect(refused("2001:db9::1")).toBe(false);
    // Those counted already still are.
    for (let i = 0; i < LIMIT; i++) spendBudget("2001:db8:100:1::1", undefined, at);
    expect(refused("2001:db8:100:2::1")).toBe(true);
  });
});
