import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { resetPassword } from "@/lib/admin/users.ts";
import { completePasswordReset } from "@/lib/oauth/store/account-tokens.ts";
import { changePassword } from "@/lib/oauth/store/users.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { hashPassword, passwordVerifier } from "@/lib/platform/passwords.ts";
import { ALICE, basic, postIntrospect, postToken, SPA } from "@/lib/testing/oauth.ts";

// The production defaults, with a small account ceiling so that a test stays short.
beforeEach(() => {
  vi.spyOn(settings(), "LOCKOUT_USER_IP_LIMIT", "get").mockReturnValue(5);
  vi.spyOn(settings(), "LOCKOUT_IP_LIMIT", "get").mockReturnValue(50);
  vi.spyOn(settings(), "LOCKOUT_WINDOW_SECONDS", "get").mockReturnValue(900);
  vi.spyOn(settings(), "LOCKOUT_ACCOUNT_LIMIT", "get").mockReturnValue(10);
  vi.spyOn(settings(), "LOCKOUT_KNOWN_ADDRESS_DAYS", "get").mockReturnValue(30);
  clearCaches();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

let n = 0;
const newIp = () => `192.0.2.${++n}`;
const newNet = () => `2001:db8:${(++n).toString(16)}:1`;
const from = (ip: string) => ({ [PEER_HEADER]: peerHeaderValue(ip) });
/** A user of this test alone: the account ceiling counts a username's failures from everywhere. */
async function newUser(): Promise<{ username: string; password: string }> {
  const user = { username: `user-${++n}`, password: `password-${n}-long` };
  const workspace = await db().workspace.findFirstOrThrow();
  await db().user.create({ data: { workspaceId: workspace.id, username: user.username, passwordHash: await hashPassword(user.password) } });
  return user;
}
const attempt = (ip: string, username: string, password: string) => postToken({ grant_type: "password", ...SPA, username, password }, from(ip));

describe("addresses are normalised and grouped", () => {
  it("counts an IPv6 /64 as one source: rotating through it does not reset the count", async () => {
    const net = newNet();
    for (let i = 1; i <= 5; i++) expect((await attempt(`${net}::${i.toString(16)}`, "alice", "wrong")).status).toBe(400);
    const verify = vi.spyOn(passwordVerifier, "verify");
    expect((await attempt(`${net}::ffff:1234`, "alice", ALICE.password)).status).toBe(429);
    expect(verify).not.toHaveBeenCalled();
    expect(await db().failedLogin.count({ where: { ip: `${net}::/64` } })).toBe(5);
  });

  it("treats upper-case, uncompressed and compressed spellings as one client", async () => {
    const spellings = ["2001:DB8:0:0:0:0:0:77", "2001:db8::77", "2001:0db8:0000:0000:0000:0000:0000:0077", "2001:Db8::0:77", "2001:db8:0::77"];
    for (const ip of spellings) expect((await attempt(ip, "bob", "wrong")).status).toBe(400);
    expect((await attempt("2001:db8::77", "bob", "bob-password-1")).status).toBe(429);
  });

  it("treats an IPv4-mapped IPv6 address as the IPv4 address", async () => {
    const ip = newIp();
    for (let i = 0; i < 5; i++) await attempt(i % 2 ? ip : `::ffff:${ip}`, "bob", "wrong");
    expect((await attempt(ip, "bob", "bob-password-1")).status).toBe(429);
    expect(await db().failedLogin.count({ where: { ip } })).toBe(5);
  });
});

describe("the per-account ceiling (ASVS 5.0 §6.3.1)", () => {
  it("refuses an account attacked from many addresses, everywhere but where its user signs in", async () => {
    const { username, password } = await newUser();
    const home = newIp();
    expect((await attempt(home, username, password)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await attempt(newIp(), username, "wrong")).status).toBe(400);
    const verify = vi.spyOn(passwordVerifier, "verify");
    const elsewhere = await attempt(newIp(), username, password);
    expect(elsewhere.status).toBe(429);
    expect(await elsewhere.json()).toEqual({ error: "too_many_attempts", error_description: "too many failed sign-in attempts; try again later" });
    expect(Number(elsewhere.headers.get("retry-after"))).toBeGreaterThan(890);
    expect(verify).not.toHaveBeenCalled();
    // The real user, from an address she signed in from, is not locked out.
    expect((await attempt(home, username, password)).status).toBe(200);
  });

  it("counts unknown usernames the same way (a lockout tells nothing)", async () => {
    const statuses = [];
    for (let i = 0; i < 11; i++) statuses.push((await attempt(newIp(), "nobody-anywhere", "x")).status);
    expect(statuses).toEqual([...Array<number>(10).fill(400), 429]);
  });

  it("forgets an address not signed in from within LOCKOUT_KNOWN_ADDRESS_DAYS", async () => {
    const { username, password } = await newUser();
    const home = newIp();
    expect((await attempt(home, username, password)).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 31 * 86_400_000 });
    for (let i = 0; i < 10; i++) await attempt(newIp(), username, "wrong");
    expect((await attempt(home, username, password)).status).toBe(429);
  });
});

describe("a password change", () => {
  // Whoever signed in with the old password made their address one the user is known from, and
  // a known address is spared the account's ceiling: the change must take that from them too.
  const changes: Array<[string, (user: { id: string; username: string }, hash: string) => Promise<unknown>]> = [
    [
      "the user's own",
      async (user, hash) => {
        // From the session of the sign-in before it, with the password it proved.
        const { passwordHash } = await db().user.findUniqueOrThrow({ where: { id: user.id } });
        const session = await db().session.findFirstOrThrow({ where: { userId: user.id, endedAt: null } });
        await changePassword(user.id, hash, { sessionId: session.id, whilePassword: passwordHash });
      },
    ],
    [
      "through a reset link",
      async (user, hash) => {
        const workspaceId = (await db().workspace.findFirstOrThrow()).id;
        const tokenHash = randomUUID();
        await db().accountToken.create({
          data: { tokenHash, purpose: "password_reset", workspaceId, userId: user.id, expiresAt: new Date(Date.now() + 60_000) },
        });
        expect(await completePasswordReset({ tokenHash, email: null }, { ...user, workspaceId }, hash)).toEqual({ reset: true });
      },
    ],
    [
      "an operator's",
      async (user) => {
        const workspace = await db().workspace.findFirstOrThrow({ include: { tenant: true } });
        await resetPassword(`${workspace.tenant.slug}/${workspace.slug}`, user.username, "an operator's new passphrase");
      },
    ],
  ];

  it.each(changes)("(%s) forgets the addresses the user was known from", async (_name, change) => {
    const { username, password } = await newUser();
    const { id } = await db().user.findUniqueOrThrow({
      where: { workspaceId_username: { workspaceId: (await db().workspace.findFirstOrThrow()).id, username } },
    });
    const holder = newIp();
    expect((await attempt(holder, username, password)).status).toBe(200);
    await change({ id, username }, await hashPassword("an operator's new passphrase"));
    expect(await db().knownAddress.count({ where: { userId: id } })).toBe(0);
    // The account's ceiling now holds at the old password's holder's address as everywhere else.
    for (let i = 0; i < 10; i++) expect((await attempt(newIp(), username, "wrong")).status).toBe(400);
    const verify = vi.spyOn(passwordVerifier, "verify");
    expect((await attempt(holder, username, "an operator's new passphrase")).status).toBe(429);
    expect(verify).not.toHaveBeenCalled();
  });
});

describe("a shared address (NAT)", () => {
  it("keeps the per-address limit, but lets a user who signed in there go on signing in", async () => {
    const [regular, stranger] = [await newUser(), await newUser()];
    const campus = newIp();
    expect((await attempt(campus, regular.username, regular.password)).status).toBe(200);
    for (let i = 0; i < 50; i++) await attempt(campus, `student-${n}-${i}`, "x");
    expect((await attempt(campus, stranger.username, stranger.password)).status).toBe(429);
    expect((await attempt(campus, regular.username, regular.password)).status).toBe(200);
    // Still within her own (username, address) limit: five wrong passwords, then 429.
    for (let i = 0; i < 5; i++) expect((await attempt(campus, regular.username, "wrong")).status).toBe(400);
    expect((await attempt(campus, regular.username, regular.password)).status).toBe(429);
  });
});

describe("client-secret guessing is throttled like password guessing", () => {
  const introspectAs = (ip: string, secret: string) => postIntrospect({ token: "x" }, { ...from(ip), Authorization: basic("demo-backend", secret) });

  it("refuses the right secret after five wrong ones from that address, not from others", async () => {
    const attacker = newIp();
    for (let i = 0; i < 5; i++) expect((await introspectAs(attacker, `guess-${i}`)).status).toBe(401);
    const locked = await introspectAs(attacker, "demo-backend-secret");
    expect(locked.status).toBe(429);
    expect(locked.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await introspectAs(newIp(), "demo-backend-secret")).status).toBe(200);
    expect(await db().failedLogin.count({ where: { ip: attacker, kind: "client", username: "demo-backend" } })).toBe(5);
  });

  it("counts wrong secrets from an address that proved the right one moments before", async () => {
    const ip = newIp();
    expect((await introspectAs(ip, "demo-backend-secret")).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await introspectAs(ip, `guess-${i}`)).status).toBe(401);
    expect((await introspectAs(ip, "demo-backend-secret")).status).toBe(429);
  });

  it("keeps a client's failures apart from a user of the same name", async () => {
    const ip = newIp();
    for (let i = 0; i < 5; i++) await introspectAs(ip, `guess-${i}`);
    const res = await postToken({ grant_type: "password", ...SPA, username: "demo-backend", password: "x" }, from(ip));
    expect(res.status).toBe(400);
  });
});

describe("a user's own failures at a busy shared address", () => {
  it("are counted however many others failed there since (the per-username limit is all that is left there)", async () => {
    const regular = await newUser();
    const campus = newIp();
    expect((await attempt(campus, regular.username, regular.password)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await attempt(campus, regular.username, "wrong")).status).toBe(400);
    // 60 failures of others push hers out of the newest 51 the address's check reads.
    for (let i = 0; i < 60; i++) await attempt(campus, `student-${n}-${i}`, "x");
    const verify = vi.spyOn(passwordVerifier, "verify");
    expect((await attempt(campus, regular.username, regular.password)).status).toBe(429);
    expect(verify).not.toHaveBeenCalled();
  });
});

describe("an unknown client id", () => {
  it("costs the same work as a wrong secret of a known one (timing tells no client ids)", async () => {
    const { clientSecretBasic } = await import("@/lib/oauth/client-auth/methods/client-secret-basic.ts");
    const verify = vi.spyOn(clientSecretBasic, "verify");
    const res = await postIntrospect({ token: "x" }, { ...from(newIp()), Authorization: basic("no-such-client", "guess") });
    expect(res.status).toBe(401);
    expect(verify).toHaveBeenCalledTimes(1);
  });

  it("is locked out after five wrong secrets exactly as a known one is (a lockout tells no client ids)", async () => {
    const answers = async (clientId: string) => {
      const ip = newIp();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await postIntrospect({ token: "x" }, { ...from(ip), Authorization: basic(clientId, `guess-${i}`) })).status);
      return statuses;
    };
    const known = await answers("demo-backend");
    expect(known).toEqual([401, 401, 401, 401, 401, 429]);
    expect(await answers("no-such-client")).toEqual(known);
    // A disabled client too.
    await db().client.updateMany({ where: { clientId: "demo-service" }, data: { disabled: true } });
    clearCaches("settings");
    try {
      expect(await answers("demo-service")).toEqual(known);
    } finally {
      await db().client.updateMany({ where: { clientId: "demo-service" }, data: { disabled: false } });
      clearCaches("settings");
    }
  });
});
