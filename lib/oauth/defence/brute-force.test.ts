import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { flushAudit } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { END_USER_AGENT_HEADER, END_USER_IP_HEADER } from "@/lib/oauth/client-auth/end-user.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";
import { ALICE, basic, postToken, SPA } from "@/lib/testing/oauth.ts";

// The production defaults: 5 per (username, IP), 50 per IP, 15 minutes.
beforeEach(() => {
  vi.spyOn(settings(), "LOCKOUT_USER_IP_LIMIT", "get").mockReturnValue(5);
  vi.spyOn(settings(), "LOCKOUT_IP_LIMIT", "get").mockReturnValue(50);
  vi.spyOn(settings(), "LOCKOUT_WINDOW_SECONDS", "get").mockReturnValue(900);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

let n = 0;
/** A fresh address per test, as our server stamps it. */
const newIp = () => `198.51.100.${++n}`;
const from = (ip: string, extra: Record<string, string> = {}) => ({ [PEER_HEADER]: peerHeaderValue(ip), ...extra });
const attempt = (ip: string, username: string, password: string, extra: Record<string, string> = {}) =>
  postToken({ grant_type: "password", ...SPA, username, password }, from(ip, extra));

describe("brute-force defence (RFC 6749 §4.3.2)", () => {
  it("refuses the 6th attempt for a username from one address with 429, without verifying", async () => {
    const ip = newIp();
    for (let i = 0; i < 5; i++) expect((await attempt(ip, "alice", "wrong")).status).toBe(400);
    const verify = vi.spyOn(passwordVerifier, "verify");
    const res = await attempt(ip, "alice", ALICE.password);
    expect(res.status).toBe(429);
    expect(verify).not.toHaveBeenCalled();
    expect(res.headers.get("cache-control")).toBe("no-store");
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(890);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(await res.json()).toEqual({ error: "too_many_attempts", error_description: "too many failed sign-in attempts; try again later" });
  });

  it("says in Retry-After when the address is below its limit again, though it has more failures than the limit (a known user's wrong passwords there)", async () => {
    const ip = newIp();
    const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
    const ago = (s: number) => new Date(Date.now() - s * 1000);
    // 51 failures in the window: the oldest 800 s ago, the next 700 s ago, 49 more 10 s ago.
    const at = [800, 700, ...Array<number>(49).fill(10)];
    await db().failedLogin.createMany({ data: at.map((s, i) => ({ workspaceId, username: `someone-${i}`, ip, createdAt: ago(s) })) });
    const res = await attempt(ip, "nobody-in-particular", "x");
    expect(res.status).toBe(429);
    // Below 50 again once the one of 700 s ago has left the 900-s window, not the one of 800 s ago.
    const retryAfter = Number(res.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(190);
    expect(retryAfter).toBeLessThanOrEqual(200);
  });

  it("locks unknown usernames exactly the same way", async () => {
    const ip = newIp();
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await attempt(ip, "nobody-at-all", "x")).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
  });

  it("lets the real user sign in from another address meanwhile", async () => {
    const attacker = newIp();
    for (let i = 0; i < 6; i++) await attempt(attacker, "alice", "wrong");
    expect((await attempt(attacker, "alice", ALICE.password)).status).toBe(429);
    expect((await attempt(newIp(), "alice", ALICE.password)).status).toBe(200);
  });

  it("forgives a username's failures from an address once it signs in there", async () => {
    const ip = newIp();
    for (let i = 0; i < 4; i++) await attempt(ip, "alice", "wrong");
    expect((await attempt(ip, "alice", ALICE.password)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await attempt(ip, "alice", "wrong")).status).toBe(400);
    expect((await attempt(ip, "alice", "wrong")).status).toBe(429);
  });

  it("refuses an address after 50 failures over any usernames", async () => {
    const ip = newIp();
    for (let i = 0; i < 50; i++) expect((await attempt(ip, `user-${i}`, "x")).status).toBe(400);
    expect((await attempt(ip, "alice", ALICE.password)).status).toBe(429);
  });

  it("lets a burst of concurrent guesses verify no more than the limit", async () => {
    const ip = newIp();
    const verify = vi.spyOn(passwordVerifier, "verify");
    const results = await Promise.all(Array.from({ length: 20 }, () => attempt(ip, "bob", "wrong")));
    expect(verify.mock.calls.length).toBeLessThanOrEqual(5);
    expect(results.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(15);
  });

  it("ends the lockout when the window has passed", async () => {
    const ip = newIp();
    for (let i = 0; i < 6; i++) await attempt(ip, "alice", "wrong");
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 901_000 });
    expect((await attempt(ip, "alice", ALICE.password)).status).toBe(200);
  });

  it("keeps the count in the database: it survives a restart", async () => {
    const ip = newIp();
    for (let i = 0; i < 5; i++) await attempt(ip, "bob", "wrong");
    expect(await db().failedLogin.count({ where: { ip, username: "bob" } })).toBe(5);
    vi.resetModules(); // a new process: nothing of the old one's memory, the same settings
    vi.stubEnv("LOCKOUT_USER_IP_LIMIT", "5");
    try {
      const fresh = await import("@/lib/testing/oauth.ts");
      const res = await fresh.postToken({ grant_type: "password", ...SPA, username: "bob", password: "bob-password-1" }, from(ip));
      expect(res.status).toBe(429);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("whose address counts", () => {
  const web = (endUserIp: string) => ({ Authorization: basic("demo-web", "demo-web-secret"), [END_USER_IP_HEADER]: endUserIp });

  it("a trusted server-side client's end-user address, after it authenticated", async () => {
    clearCaches();
    const server = newIp();
    const victim = newIp();
    for (let i = 0; i < 6; i++) await postToken({ grant_type: "password", username: "alice", password: "wrong" }, from(server, web(victim)));
    const locked = await postToken({ grant_type: "password", ...ALICE }, from(server, web(victim)));
    expect(locked.status).toBe(429);
    // Another browser behind the same app server is not locked out.
    const other = await postToken({ grant_type: "password", ...ALICE }, from(server, web(newIp())));
    expect(other.status).toBe(200);
    expect(await db().failedLogin.count({ where: { ip: server } })).toBe(0);
  });

  it.each([
    ["an untrusted confidential client", { Authorization: basic("demo-backend", "demo-backend-secret") }, {}],
    ["a public client", {}, SPA],
  ])("not the header of %s: its own", async (_name, auth, fields) => {
    const caller = newIp();
    const claimed = newIp();
    await postToken({ grant_type: "password", username: "alice", password: "wrong", ...fields }, from(caller, { ...auth, [END_USER_IP_HEADER]: claimed }));
    expect(await db().failedLogin.count({ where: { ip: caller } })).toBe(1);
    expect(await db().failedLogin.count({ where: { ip: claimed } })).toBe(0);
  });

  it("not the header of a trusted client that failed to authenticate", async () => {
    const caller = newIp();
    const res = await postToken(
      { grant_type: "password", username: "alice", password: "wrong" },
      from(caller, { Authorization: basic("demo-web", "wrong"), [END_USER_IP_HEADER]: "192.0.2.1" }),
    );
    expect(res.status).toBe(401);
    await flushAudit();
    const event = await db().auditEvent.findFirstOrThrow({ where: { requestId: res.headers.get("x-request-id")! } });
    expect(event.ip).toBe(caller);
  });

  it("not a header that is not an address", async () => {
    const server = newIp();
    await postToken({ grant_type: "password", username: "alice", password: "wrong" }, from(server, web("not an ip")));
    expect(await db().failedLogin.count({ where: { ip: server } })).toBe(1);
  });

  it("not X-Forwarded-For, unless TRUST_PROXY says the peer is a proxy", async () => {
    const peer = "127.0.0.1";
    const claimed = newIp();
    const before = await db().failedLogin.count({ where: { ip: peer } });
    await attempt(peer, "alice", "wrong", { "x-forwarded-for": claimed });
    expect(await db().failedLogin.count({ where: { ip: peer } })).toBe(before + 1);
    settings().TRUST_PROXY = "loopback";
    try {
      await attempt(peer, "alice", "wrong", { "x-forwarded-for": `203.0.113.99, ${claimed}` });
      expect(await db().failedLogin.count({ where: { ip: claimed } })).toBe(1);
    } finally {
      settings().TRUST_PROXY = undefined;
    }
  });
});

describe("audit trail", () => {
  it("records success, each failure with its reason, and the lockout; never a password", async () => {
    const ip = newIp();
    const ids: string[] = [];
    const track = async (p: Promise<Response>) => ids.push((await p).headers.get("x-request-id")!);
    await track(attempt(ip, "alice", ALICE.password));
    await track(attempt(ip, "alice", "hunter2-wrong"));
    await track(attempt(ip, "ghost", "hunter2-ghost"));
    await track(attempt(ip, "carol", "carol-password-1"));
    for (let i = 0; i < 5; i++) await attempt(ip, "ghost", "hunter2-ghost");
    await track(attempt(ip, "ghost", "hunter2-ghost"));
    await flushAudit();
    const events = await Promise.all(ids.map((requestId) => db().auditEvent.findFirstOrThrow({ where: { requestId } })));
    expect(events.map((e) => [e.event, e.outcome, e.reason, e.username, e.clientId, e.ip])).toEqual([
      ["token.password", "success", null, "alice", "demo-spa", ip],
      ["token.password", "failure", "wrong password", "alice", "demo-spa", ip],
      ["token.password", "failure", "unknown user", "ghost", "demo-spa", ip],
      ["token.password", "failure", "user disabled", "carol", "demo-spa", ip],
      ["token.password", "locked", "locked: username from this address", "ghost", "demo-spa", ip],
    ]);
    expect(events[0]!.userId).toMatch(/^[0-9a-f-]{36}$/);
    const all = JSON.stringify(await db().auditEvent.findMany());
    expect(all.length).toBeGreaterThan(1000);
    for (const secret of ["hunter2", ALICE.password, "carol-password-1", "demo-web-secret", "demo-backend-secret"]) expect(all).not.toContain(secret);
  });

  it("records the browser's User-Agent that a trusted client forwards, else the request's own", async () => {
    clearCaches();
    const web = {
      Authorization: basic("demo-web", "demo-web-secret"),
      "user-agent": "oauth4webapi/v3",
      [END_USER_IP_HEADER]: newIp(),
      [END_USER_AGENT_HEADER]: "Mozilla/5.0 (X11) Firefox/140.0",
    };
    const forwarded = await postToken({ grant_type: "password", ...ALICE }, from(newIp(), web));
    const spa = await postToken(
      { grant_type: "password", ...SPA, ...ALICE },
      from(newIp(), { "user-agent": "curl/8", [END_USER_AGENT_HEADER]: "Spoofed/1.0" }),
    );
    const unforwarded = await postToken({ grant_type: "password", ...ALICE }, from(newIp(), { ...web, [END_USER_AGENT_HEADER]: "" }));
    await flushAudit();
    const agent = async (res: Response) => (await db().auditEvent.findFirstOrThrow({ where: { requestId: res.headers.get("x-request-id")! } })).userAgent;
    expect(await agent(forwarded)).toBe("Mozilla/5.0 (X11) Firefox/140.0");
    expect(await agent(spa)).toBe("curl/8");
    expect(await agent(unforwarded)).toBe("oauth4webapi/v3");
  });
});
