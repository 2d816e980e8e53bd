import { afterEach, describe, expect, it, vi } from "vitest";
import { END_USER_AGENT_HEADER, END_USER_IP_HEADER } from "@/lib/oauth/client-auth/end-user.ts";
import { routes, type WorkspaceRoute } from "@/lib/oauth/routes.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";
import { setUser } from "@/lib/admin/users.ts";
import { endUserSessions } from "@/lib/oauth/store/sessions.ts";
import { codeAt, DAVE, DAVE_SECRET, MFA_OTP, mfaTokenFor } from "@/lib/testing/mfa.ts";
import { addClient, ALICE, basic, call, expectNoStore, inProcessFetch, introspect, ISSUER, postToken, signIn, SPA, type Tokens } from "@/lib/testing/oauth.ts";

const WEB = { Authorization: basic("demo-web", "demo-web-secret") };
const BOB = { username: "bob", password: "bob-password-1" };
const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";
const FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** A sign-in through the login app's client, from a browser at `ip` with `userAgent`. */
function signInWeb(user = ALICE, device: { ip?: string; userAgent?: string } = {}, scope = "openid profile email offline_access account"): Promise<Tokens> {
  const headers: Record<string, string> = { ...WEB };
  if (device.ip) headers[END_USER_IP_HEADER] = device.ip;
  if (device.userAgent) headers[END_USER_AGENT_HEADER] = device.userAgent;
  return signIn({ ...user, scope }, headers);
}

const bearer = (tokens: Tokens) => ({ Authorization: `Bearer ${tokens.access_token}` });
const sid = (tokens: Tokens) => JSON.parse(Buffer.from(tokens.access_token.split(".")[1]!, "base64url").toString()).sid as string;

const getSessions = (tokens: Tokens) => call(routes.accountSessions, `${ISSUER}/account/sessions`, { headers: bearer(tokens) });
const endOthers = (tokens: Tokens) => call(routes.accountSessions, `${ISSUER}/account/sessions`, { method: "DELETE", headers: bearer(tokens) });
const endSession = (tokens: Tokens, id: string) =>
  call(routes.accountSession, `${ISSUER}/account/sessions/${encodeURIComponent(id)}`, { method: "DELETE", headers: bearer(tokens), params: { id } });
const changePassword = (tokens: Tokens, body: Record<string, string>) =>
  call(routes.accountPassword, `${ISSUER}/account/password`, { body, headers: bearer(tokens) });
const getActivity = (tokens: Tokens) => call(routes.accountActivity, `${ISSUER}/account/activity`, { headers: bearer(tokens) });
const refresh = (tokens: Tokens) => postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }, WEB);

interface ListedSession {
  id: string;
  client_id: string;
  created_at: number;
  last_used_at: number;
  ip: string | null;
  user_agent: string | null;
  current: boolean;
}
const sessionsOf = async (tokens: Tokens): Promise<ListedSession[]> => {
  const res = await getSessions(tokens);
  expect(res.status).toBe(200);
  return ((await res.json()) as { sessions: ListedSession[] }).sessions;
};

const ROUTES: Array<[string, WorkspaceRoute, string, string]> = [
  ["GET /account/sessions", routes.accountSessions, "GET", "/account/sessions"],
  ["DELETE /account/sessions", routes.accountSessions, "DELETE", "/account/sessions"],
  ["DELETE /account/sessions/{id}", routes.accountSession, "DELETE", "/account/sessions/x"],
  ["POST /account/password", routes.accountPassword, "POST", "/account/password"],
  ["GET /account/activity", routes.accountActivity, "GET", "/account/activity"],
];

describe("the account API's authentication (RFC 6750, RFC 9449 §7.1)", () => {
  it.each(ROUTES)("%s without a token: 401 with a bare challenge in both schemes", async (_name, route, method, path) => {
    const res = await call(route, `${ISSUER}${path}`, { method, params: { id: "x" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="${ISSUER}", DPoP realm="${ISSUER}", algs="ES256 RS256 PS256 EdDSA"`);
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("records no audit event for a call without a token", async () => {
    await flushAudit();
    const before = await db().auditEvent.count({ where: { event: { startsWith: "account." } } });
    for (const [, route, method, path] of ROUTES) expect((await call(route, `${ISSUER}${path}`, { method, params: { id: "x" } })).status).toBe(401);
    await flushAudit();
    expect(await db().auditEvent.count({ where: { event: { startsWith: "account." } } })).toBe(before);
  });

  it.each(ROUTES)("%s with a bad token: 401 invalid_token", async (_name, route, method, path) => {
    const res = await call(route, `${ISSUER}${path}`, { method, params: { id: "x" }, headers: { Authorization: "Bearer not.a.token" } });
    expect(res.status).toBe(401);
    expectNoStore(res);
    expect(await res.json()).toEqual({ error: "invalid_token", error_description: "the access token is invalid" });
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it.each(ROUTES)("%s with a token without the account scope: 403 insufficient_scope", async (_name, route, method, path) => {
    const tokens = await signInWeb(ALICE, {}, "openid profile offline_access");
    const res = await call(route, `${ISSUER}${path}`, { method, params: { id: "x" }, headers: bearer(tokens) });
    expect(res.status).toBe(403);
    expectNoStore(res);
    expect(await res.json()).toEqual({ error: "insufficient_scope", error_description: "the access token lacks the account scope" });
    expect(res.headers.get("www-authenticate")).toContain('scope="account"');
  });

  it("is not granted to a client that is not allowed the scope", async () => {
    const res = await postToken({ grant_type: "password", ...SPA, ...ALICE, scope: "openid account" });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_scope");
  });

  it("answers a browser's preflight for the account routes with their methods", async () => {
    await db().client.updateMany({ where: { clientId: "demo-web" }, data: { allowedOrigins: "https://app.example" } });
    try {
      const res = await call(routes.accountSessions, `${ISSUER}/account/sessions`, { method: "OPTIONS", headers: { Origin: "https://app.example" } });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
      expect(res.headers.get("access-control-allow-methods")).toBe("GET, DELETE");
    } finally {
      await db().client.updateMany({ where: { clientId: "demo-web" }, data: { allowedOrigins: "" } });
    }
  });
});

describe("GET /account/sessions", () => {
  it("lists every live session of the user, newest first, with its browser and address as the client passed them, and which is current", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-12-01T10:00:00Z"));
    const laptop = await signInWeb(ALICE, { ip: "203.0.113.7", userAgent: CHROME });
    vi.setSystemTime(new Date("2026-12-01T11:00:00Z"));
    const phone = await signInWeb(ALICE, { ip: "2001:db8::42", userAgent: FIREFOX });
    const bob = await signInWeb(BOB, { ip: "198.51.100.9", userAgent: CHROME });
    vi.setSystemTime(new Date("2026-12-01T12:00:00Z"));
    const refreshed = await refresh(laptop);
    expect(refreshed.status).toBe(200);

    const res = await getSessions(phone);
    expectNoStore(res);
    const listed = ((await res.json()) as { sessions: ListedSession[] }).sessions;
    const mine = listed.filter((s) => [sid(laptop), sid(phone)].includes(s.id));
    expect(mine).toEqual([
      { id: sid(phone), client_id: "demo-web", created_at: 1796122800, last_used_at: 1796122800, ip: "2001:db8::42", user_agent: FIREFOX, current: true },
      { id: sid(laptop), client_id: "demo-web", created_at: 1796119200, last_used_at: 1796126400, ip: "203.0.113.7", user_agent: CHROME, current: false },
    ]);
    expect(listed.map((s) => s.id)).not.toContain(sid(bob));
    expect(listed.filter((s) => s.current)).toHaveLength(1);
    // Newest first, across the whole list.
    expect(listed.map((s) => s.created_at)).toEqual([...listed.map((s) => s.created_at)].sort((a, b) => b - a));
  });

  it("does not list an ended session", async () => {
    const a = await signInWeb();
    const b = await signInWeb();
    await call(routes.revocation, `${ISSUER}/oauth2/revoke`, { body: { token: b.refresh_token }, headers: WEB });
    const ids = (await sessionsOf(a)).map((s) => s.id);
    expect(ids).toContain(sid(a));
    expect(ids).not.toContain(sid(b));
  });

  it("lists a sign-in without a refresh token, and the caller's address when the client may not pass the user's", async () => {
    await addClient("no-refresh", { secret: "no-refresh-secret", scopes: "openid account" });
    const tokens = await signIn(
      { ...ALICE, scope: "openid account" },
      {
        Authorization: basic("no-refresh", "no-refresh-secret"),
        [END_USER_IP_HEADER]: "192.0.2.1",
        [PEER_HEADER]: peerHeaderValue("192.0.2.50"),
      },
    );
    expect(tokens.refresh_token).toBeUndefined();
    const me = (await sessionsOf(tokens)).find((s) => s.current);
    expect(me).toMatchObject({ id: sid(tokens), client_id: "no-refresh", ip: "192.0.2.50", user_agent: null });
    expect(me?.last_used_at).toBe(me?.created_at);
  });
});

describe("DELETE /account/sessions/{id}", () => {
  it("ends that session: 204, its refresh token revoked, its access token refused by sid", async () => {
    const here = await signInWeb();
    const there = await signInWeb();
    const res = await endSession(here, sid(there));
    expect(res.status).toBe(204);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("");
    expect((await refresh(there)).status).toBe(400);
    expect(await introspect(there.access_token)).toEqual({ active: false });
    expect((await getSessions(there)).status).toBe(401);
    expect((await sessionsOf(here)).map((s) => s.id)).not.toContain(sid(there));
    await flushAudit();
    expect(await db().auditEvent.findFirst({ where: { event: "account.session.end", outcome: "success" }, orderBy: { createdAt: "desc" } })).toMatchObject({
      clientId: "demo-web",
      username: "alice",
    });
  });

  it("answers 404 for another user's session, and leaves it alone", async () => {
    const alice = await signInWeb();
    const bob = await signInWeb(BOB);
    const res = await endSession(alice, sid(bob));
    expect(res.status).toBe(404);
    expectNoStore(res);
    expect(await res.json()).toEqual({ error: "not_found", error_description: "no such session" });
    expect((await refresh(bob)).status).toBe(200);
  });

  it.each([["unknown"], ["x".repeat(65)], ["../sessions"]])("answers 404 for a session id %j that is none", async (id) => {
    const alice = await signInWeb();
    expect((await endSession(alice, id)).status).toBe(404);
  });

  it("answers 404 for a session that has ended already", async () => {
    const here = await signInWeb();
    const there = await signInWeb();
    expect((await endSession(here, sid(there))).status).toBe(204);
    expect((await endSession(here, sid(there))).status).toBe(404);
  });

  it("is routed by the path's id, as the production server and Next route it", async () => {
    const here = await signInWeb();
    const there = await signInWeb();
    const res = await inProcessFetch(`${ISSUER}/account/sessions/${sid(there)}`, { method: "DELETE", headers: bearer(here) });
    expect(res.status).toBe(204);
    expect((await refresh(there)).status).toBe(400);
  });
});

describe("DELETE /account/sessions", () => {
  it("ends every session of the user but the current one", async () => {
    const others = [await signInWeb(), await signInWeb()];
    const here = await signInWeb();
    const bob = await signInWeb(BOB);
    const res = await endOthers(here);
    expect(res.status).toBe(204);
    expect((await sessionsOf(here)).map((s) => s.id)).toEqual([sid(here)]);
    for (const other of others) expect((await refresh(other)).status).toBe(400);
    expect((await refresh(here)).status).toBe(200);
    expect((await refresh(bob)).status).toBe(200);
  });
});

describe("POST /account/password", () => {
  it("changes the password: 204, every other session ends, this one goes on, and the new password signs in", async () => {
    const pia = { username: "pia", password: "the first passphrase" };
    const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
    await db().user.create({ data: { workspaceId, username: pia.username, passwordHash: await hashPassword(pia.password) } });
    const other = await signInWeb(pia);
    const here = await signInWeb(pia);
    const res = await changePassword(here, { current_password: pia.password, new_password: "a brand new passphrase" });
    expect(res.status).toBe(204);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect((await refresh(other)).status).toBe(400);
    expect((await getSessions(other)).status).toBe(401);
    expect((await sessionsOf(here)).map((s) => s.id)).toEqual([sid(here)]);
    expect((await postToken({ grant_type: "password", ...SPA, ...pia })).status).toBe(400);
    expect((await postToken({ grant_type: "password", ...SPA, username: "pia", password: "a brand new passphrase" })).status).toBe(200);
    await flushAudit();
    const event = await db().auditEvent.findFirstOrThrow({ where: { event: "account.password.change", username: "pia" } });
    expect(event.outcome).toBe("success");
    expect(JSON.stringify(event)).not.toContain("brand new");
  });

  it("takes a JSON object too", async () => {
    const here = await signInWeb(BOB);
    const res = await call(routes.accountPassword, `${ISSUER}/account/password`, {
      method: "POST",
      body: JSON.stringify({ current_password: "wrong", new_password: "short" }),
      headers: { ...bearer(here), "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect((await res.json()).password_rule).toBe("too_short");
  });

  it.each([
    [{ new_password: "a brand new passphrase" }, "current_password and new_password are required"],
    [{ current_password: ALICE.password }, "current_password and new_password are required"],
    [{ current_password: "x".repeat(4097), new_password: "a brand new passphrase" }, "current_password is longer than 4096 characters"],
  ])("refuses a request without both passwords: 400 invalid_request %#", async (body, description) => {
    const res = await changePassword(await signInWeb(), body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: description });
  });

  it.each([
    ["short", "too_short", "the password must have at least 8 characters"],
    ["x".repeat(1025), "too_long", "the password must have at most 1024 characters"],
    ["iloveyou", "common", "the password is too common: it is on a list of frequently used passwords"],
    ["Password1", "common", "the password is too common: it is on a list of frequently used passwords"],
    ["Alice!2024", "contains_username", "the password must not be built on the username: without it, it must still have 8 characters"],
    ["alice@example.com", "contains_email", "the password must not be built on the email address: without it, it must still have 8 characters"],
  ])("refuses a new password that breaks the policy (%j): 400 naming the rule, without verifying or changing anything", async (next, rule, description) => {
    const here = await signInWeb();
    const before = (await db().user.findFirstOrThrow({ where: { username: "alice" } })).passwordHash;
    const res = await changePassword(here, { current_password: ALICE.password, new_password: next });
    expect(res.status).toBe(400);
    expectNoStore(res);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: description, password_rule: rule });
    expect((await db().user.findFirstOrThrow({ where: { username: "alice" } })).passwordHash).toBe(before);
    expect((await refresh(here)).status).toBe(200);
  });

  it("follows the workspace's minimum length", async () => {
    await db().workspace.updateMany({ where: { slug: "default" }, data: { passwordMinLength: 20 } });
    clearCaches();
    try {
      const res = await changePassword(await signInWeb(), { current_password: ALICE.password, new_password: "nineteen characters" });
      expect(res.status).toBe(400);
      expect((await res.json()).error_description).toBe("the password must have at least 20 characters");
    } finally {
      await db().workspace.updateMany({ where: { slug: "default" }, data: { passwordMinLength: 8 } });
      clearCaches();
    }
  });

  it("answers a wrong current password with 403, counted like a failed sign-in, and locks after the limit", async () => {
    vi.spyOn(settings(), "LOCKOUT_USER_IP_LIMIT", "get").mockReturnValue(3);
    const here = await signInWeb(BOB);
    const bobId = (await db().user.findFirstOrThrow({ where: { username: "bob" } })).id;
    const before = await db().failedLogin.count({ where: { username: "bob" } });
    for (let i = 0; i < 3; i++) {
      const res = await changePassword(here, { current_password: `wrong-${i}`, new_password: "a brand new passphrase" });
      expect(res.status).toBe(403);
      expectNoStore(res);
      expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the current password is wrong" });
    }
    expect(await db().failedLogin.count({ where: { username: "bob", kind: "user", ip: `account:${bobId}` } })).toBe(before + 3);
    // Locked: even the right password is not verified now.
    const locked = await changePassword(here, { current_password: BOB.password, new_password: "a brand new passphrase" });
    expect(locked.status).toBe(429);
    expect((await locked.json()).error).toBe("too_many_attempts");
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    await flushAudit();
    const outcomes = (await db().auditEvent.findMany({ where: { event: "account.password.change", username: "bob" }, orderBy: { createdAt: "asc" } })).map(
      (e) => e.outcome,
    );
    expect(outcomes.slice(-4)).toEqual(["failure", "failure", "failure", "locked"]);
    await db().failedLogin.deleteMany({ where: { username: "bob" } });
  });

  it("stores the NFKC form: a password set in full-width characters signs in typed in plain ones", async () => {
    const here = await signInWeb(BOB);
    // "ｂｏｂ－ｗｉｄｅ－ｐａｓｓ" is "bob-wide-pass" under NFKC.
    const wide = "\uff42\uff4f\uff42\uff0d\uff57\uff49\uff44\uff45\uff0d\uff50\uff41\uff53\uff53";
    expect((await changePassword(here, { current_password: BOB.password, new_password: wide })).status).toBe(204);
    expect((await postToken({ grant_type: "password", ...SPA, username: "bob", password: "bob-wide-pass" })).status).toBe(200);
    expect((await postToken({ grant_type: "password", ...SPA, username: "bob", password: wide })).status).toBe(200);
    expect((await changePassword(here, { current_password: "bob-wide-pass", new_password: BOB.password })).status).toBe(204);
  });
});

describe("ending sessions, and what else ends with them", () => {
  it("ends the sign-ins waiting for their second factor too: their mfa_token stops working", async () => {
    // Someone with dave's password waits for the second factor.
    const pending = await mfaTokenFor(DAVE, WEB);
    const authenticators = () => call(routes.mfaAuthenticators, `${ISSUER}/mfa/authenticators`, { headers: { Authorization: `Bearer ${pending}` } });
    expect((await authenticators()).status).toBe(200);
    // What a new password, a reset, an operator's reset and "sign out everywhere else" do.
    await endUserSessions((await db().user.findFirstOrThrow({ where: { username: "dave" } })).id);
    const refused = await authenticators();
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "invalid_token", error_description: "the mfa_token is invalid or expired" });
  });

  it("answers 404 for a session id with a NUL in it, or one past its absolute end", async () => {
    const tokens = await signInWeb();
    const nul = await endSession(tokens, "\u0000");
    expect(nul.status).toBe(404);
    const other = await signInWeb();
    await db().session.update({ where: { id: sid(other) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await endSession(tokens, sid(other))).status).toBe(404);
  });
});

describe("GET /account/activity", () => {
  it("shows no failed sign-in of an earlier holder of the user's name (deleted, or renamed away)", async () => {
    const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
    const passwordHash = await hashPassword("sam-password-1");
    await db().user.create({ data: { workspaceId, username: "sam", passwordHash } });
    await postToken({ grant_type: "password", username: "sam", password: "wrong password" }, { ...WEB, [END_USER_IP_HEADER]: "192.0.2.51" });
    await flushAudit();
    await db().user.delete({ where: { workspaceId_username: { workspaceId, username: "sam" } } });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await db().user.create({ data: { workspaceId, username: "sam", passwordHash } });
    const sam = await signInWeb({ username: "sam", password: "sam-password-1" });
    await flushAudit();
    const { events } = (await (await getActivity(sam)).json()) as { events: Array<Record<string, unknown>> };
    expect(events.map((e) => [e.type, e.outcome])).toEqual([["sign_in", "success"]]);

    // Renamed to a name whose failures are on the trail: they are not the renamed user's either.
    await postToken({ grant_type: "password", username: "ursula", password: "wrong password" }, { ...WEB, [END_USER_IP_HEADER]: "192.0.2.52" });
    await flushAudit();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await setUser("demo/default", "sam", { username: "ursula" });
    const ursula = await signInWeb({ username: "ursula", password: "sam-password-1" });
    await flushAudit();
    const renamed = (await (await getActivity(ursula)).json()) as { events: Array<Record<string, unknown>> };
    expect(renamed.events.map((e) => [e.type, e.outcome])).toEqual([
      ["sign_in", "success"],
      ["sign_in", "success"],
    ]);
  });

  it("lists the user's sign-ins, failed ones too, newest first, without reasons or anyone else's", async () => {
    await postToken({ grant_type: "password", username: "alice", password: "wrong password" }, { ...WEB, [END_USER_IP_HEADER]: "192.0.2.33" });
    await signInWeb(BOB);
    const here = await signInWeb(ALICE, { ip: "192.0.2.34", userAgent: CHROME });
    await flushAudit();
    const res = await getActivity(here);
    expect(res.status).toBe(200);
    expectNoStore(res);
    const { events } = (await res.json()) as { events: Array<Record<string, unknown>> };
    expect(events.length).toBeLessThanOrEqual(20);
    expect(events.slice(0, 2)).toEqual([
      { at: expect.any(Number), type: "sign_in", outcome: "success", client_id: "demo-web", ip: "192.0.2.34", user_agent: CHROME },
      { at: expect.any(Number), type: "sign_in", outcome: "failure", client_id: "demo-web", ip: "192.0.2.33", user_agent: null },
    ]);
    expect(events.map((e) => e.at)).toEqual([...events.map((e) => e.at as number)].sort((a, b) => b - a));
    expect(JSON.stringify(events)).not.toMatch(/reason|wrong password|198\.51\.100\.9/);
  });

  it("shows a sign-in with a second factor as one sign-in, not as a failed password", async () => {
    const mfaToken = await mfaTokenFor({ ...DAVE, scope: "openid account" }, WEB);
    const res = await postToken({ grant_type: MFA_OTP, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) }, WEB);
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as Tokens;
    await flushAudit();
    const { events } = (await (await getActivity(tokens)).json()) as { events: Array<Record<string, unknown>> };
    expect(events[0]).toMatchObject({ type: "second_factor", outcome: "success", client_id: "demo-web" });
    expect(events.filter((e) => e.type === "sign_in" && e.outcome === "failure")).toEqual([]);
  });
});
