import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NextRequest } from "next/server";
import { logger } from "@/lib/platform/logger.ts";
import { routes } from "@/lib/oauth/routes.ts";
import type { WorkspaceRoute } from "@/lib/oauth/routes.ts";
import { routeContext } from "@/lib/testing/oauth.ts";
import { loginProxy } from "@/lib/login/proxy.ts";
import { enrolmentCookieName, RECOVERY_CODES_HEADER, recoveryCodesCookieName } from "@/lib/login/account-mfa.ts";
import { decodeSession, encodeSession, sessionCookieName, sessionCookieValue, sessionCookieWrites } from "@/lib/login/session.ts";
import { clearSessionChecks, MAX_SESSION_CHECKS, sessionChecksSize, sessionLiveness } from "@/lib/login/session-check.ts";
import { passwordSignIn, revokeRefreshToken, setFetchForTests, type SessionTokens } from "@/lib/login/token-client.ts";

// As in token-client.test.ts: the login app's HTTP requests are served in-process by the real
// route handlers; `tamper` stands in for a server that answers otherwise.
const ROUTES: Record<string, WorkspaceRoute> = {
  "/demo/default/.well-known/openid-configuration": routes.discovery,
  "/demo/default/.well-known/jwks.json": routes.jwks,
  "/demo/default/oauth2/token": routes.token,
  "/demo/default/oauth2/revoke": routes.revocation,
  "/demo/default/userinfo": routes.userinfo,
  "/demo/default/oauth2/introspect": routes.introspection,
};

type Tamper = (url: URL, respond: () => Promise<Response>) => Promise<Response>;
let tamper: Tamper | undefined;
const requests: Request[] = [];

const inProcessFetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const request = new Request(input, init);
  requests.push(request.clone());
  const url = new URL(request.url);
  const route = ROUTES[url.pathname];
  const respond = async () => (route ? route[request.method as "GET" | "POST"](request, routeContext()) : new Response("not found", { status: 404 }));
  return tamper ? tamper(url, respond) : respond();
}) as typeof fetch;

const introspectionCalls = () => requests.filter((r) => new URL(r.url).pathname.endsWith("/oauth2/introspect"));
const userinfoCalls = () => requests.filter((r) => new URL(r.url).pathname.endsWith("/userinfo")).length;

/** A UserInfo endpoint that answers `status` (RFC 6750 §3.1's 401 for a token it refuses). */
const userinfoAnswers =
  (status: number): Tamper =>
  async (url, respond) =>
    url.pathname.endsWith("/userinfo")
      ? new Response(status === 401 ? null : "{}", {
          status,
          headers: status === 401 ? { "WWW-Authenticate": 'Bearer error="invalid_token"' } : { "Content-Type": "application/json" },
        })
      : respond();

const networkDown: Tamper = async () => {
  throw new TypeError("fetch failed");
};

beforeEach(() => {
  tamper = undefined;
  requests.length = 0;
  clearSessionChecks();
  setFetchForTests(inProcessFetch);
});
afterEach(() => {
  setFetchForTests(undefined);
  vi.restoreAllMocks();
});

async function signedIn(username = "alice", password = "alice-password-1"): Promise<SessionTokens> {
  const { tokens } = await passwordSignIn(username, password);
  requests.length = 0;
  return tokens;
}

/** A session without a refresh token: checked at UserInfo only. */
const accessOnly = (tokens: SessionTokens) => ({ accessToken: tokens.accessToken });

describe("sessionLiveness", () => {
  it("finds a fresh session alive at the real UserInfo endpoint, with the bearer access token", async () => {
    const tokens = await signedIn();
    expect(await sessionLiveness(accessOnly(tokens))).toBe("alive");
    const [request] = requests;
    expect(request!.method).toBe("GET");
    expect(request!.url).toBe("http://localhost:3000/demo/default/userinfo");
    expect(request!.headers.get("authorization")).toBe(`Bearer ${tokens.accessToken}`);
  });

  it("finds a session ended when UserInfo answers 401", async () => {
    const tokens = await signedIn();
    tamper = userinfoAnswers(401);
    expect(await sessionLiveness(accessOnly(tokens))).toBe("ended");
  });

  it("asks at most once per SESSION_CHECK_SECONDS (5 s by default) per session", async () => {
    const tokens = await signedIn();
    const t0 = Date.now();
    expect(await sessionLiveness(accessOnly(tokens), t0)).toBe("alive");
    expect(await sessionLiveness(accessOnly(tokens), t0 + 4_999)).toBe("alive");
    expect(userinfoCalls()).toBe(1);
    expect(await sessionLiveness(accessOnly(tokens), t0 + 5_000)).toBe("alive");
    expect(userinfoCalls()).toBe(2);
  });

  it("asks on every call when the interval is 0", async () => {
    const tokens = await signedIn();
    const t0 = Date.now();
    await sessionLiveness(accessOnly(tokens), t0, 0);
    await sessionLiveness(accessOnly(tokens), t0, 0);
    expect(userinfoCalls()).toBe(2);
  });

  it("shares one request between calls that arrive together", async () => {
    const tokens = await signedIn();
    const answers = await Promise.all([sessionLiveness(accessOnly(tokens)), sessionLiveness(accessOnly(tokens)), sessionLiveness(accessOnly(tokens))]);
    expect(answers).toEqual(["alive", "alive", "alive"]);
    expect(userinfoCalls()).toBe(1);
  });

  it("remembers an ended session too: a replay within the interval is refused without asking", async () => {
    const tokens = await signedIn();
    tamper = userinfoAnswers(401);
    await sessionLiveness(accessOnly(tokens));
    tamper = undefined;
    expect(await sessionLiveness(accessOnly(tokens))).toBe("ended");
    expect(userinfoCalls()).toBe(1);
  });

  it.each([
    ["a network failure", networkDown],
    ["a 503", userinfoAnswers(503)],
    ["a 403", userinfoAnswers(403)],
  ])("does not know after %s, keeps the session and asks again next time", async (_what, failure) => {
    const tokens = await signedIn();
    tamper = failure;
    expect(await sessionLiveness(accessOnly(tokens))).toBe("unknown");
    tamper = undefined;
    expect(await sessionLiveness(accessOnly(tokens))).toBe("alive");
  });

  it("logs a failed check by a hash of the token, never the token", async () => {
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    const tokens = await signedIn();
    tamper = userinfoAnswers(503);
    await sessionLiveness(accessOnly(tokens));
    expect(warn).toHaveBeenCalledTimes(1);
    const [fields] = warn.mock.calls[0] as unknown as [Record<string, unknown>];
    expect(fields).toEqual({
      event: "login.session_check_failed",
      session: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/),
      reason: "refused: userinfo answered 503",
    });
    expect(JSON.stringify(warn.mock.calls)).not.toContain(tokens.accessToken);
  });

  it("remembers a bounded number of sessions", async () => {
    tamper = userinfoAnswers(200);
    for (let i = 0; i <= MAX_SESSION_CHECKS; i++) await sessionLiveness({ accessToken: `token-${i}` });
    expect(sessionChecksSize()).toBe(1);
    clearSessionChecks();
    expect(sessionChecksSize()).toBe(0);
  });
});

/** An issuer that lets the login app introspect (oidc-provider does, for a client's own tokens). */
const introspectionAnswers =
  (answer: Response): Tamper =>
  async (url, respond) =>
    url.pathname.endsWith("/oauth2/introspect") ? answer.clone() : respond();

describe("sessionLiveness of a session with a refresh token", () => {
  it("asks the introspection endpoint about the refresh token, with the client's authentication", async () => {
    const tokens = await signedIn();
    const info = vi.spyOn(logger, "info").mockImplementation(() => undefined);
    // Our own server lets only clients with introspect_tokens ask: demo-web gets 403.
    expect(await sessionLiveness(tokens)).toBe("alive");
    const [introspection] = introspectionCalls();
    expect(introspection!.method).toBe("POST");
    expect(introspection!.headers.get("authorization")).toMatch(/^Basic /);
    expect(Object.fromEntries(new URLSearchParams(await introspection!.text()))).toEqual({
      token: tokens.refreshToken,
      token_type_hint: "refresh_token",
    });
    expect(userinfoCalls()).toBe(1);
    expect(info).toHaveBeenCalledWith(
      { event: "login.issuer.no_introspection", issuer: "http://localhost:3000/demo/default", status: 403 },
      expect.stringContaining("checked at its UserInfo endpoint"),
    );
  });

  it("asks an issuer that refused once only at UserInfo from then on", async () => {
    const tokens = await signedIn();
    await sessionLiveness(tokens, Date.now(), 0);
    await sessionLiveness(tokens, Date.now(), 0);
    expect(introspectionCalls()).toHaveLength(1);
    expect(userinfoCalls()).toBe(2);
  });

  it("finds the session alive when the refresh token is active, though UserInfo refuses the access token (one issued for an API)", async () => {
    const tokens = await signedIn();
    const answer = Response.json({ active: true, client_id: "demo-web" });
    tamper = async (url, respond) => (url.pathname.endsWith("/userinfo") ? userinfoAnswers(401)(url, respond) : introspectionAnswers(answer)(url, respond));
    expect(await sessionLiveness(tokens)).toBe("alive");
    expect(userinfoCalls()).toBe(0);
  });

  it("finds the session ended when the refresh token is not active", async () => {
    const tokens = await signedIn();
    tamper = introspectionAnswers(Response.json({ active: false }));
    expect(await sessionLiveness(tokens)).toBe("ended");
    expect(userinfoCalls()).toBe(0);
  });

  it("does not know after a 503 at introspection, and asks there again next time", async () => {
    const tokens = await signedIn();
    tamper = introspectionAnswers(new Response("unavailable", { status: 503 }));
    expect(await sessionLiveness(tokens, Date.now(), 0)).toBe("unknown");
    tamper = introspectionAnswers(Response.json({ active: true }));
    expect(await sessionLiveness(tokens, Date.now(), 0)).toBe("alive");
    expect(introspectionCalls()).toHaveLength(2);
    expect(userinfoCalls()).toBe(0);
  });
});

// Needs the authorization server to end a session's access tokens when its refresh token is
// revoked (RFC 7009 §2.1), as the server side of sign-out does.
describe("sessionLiveness against the real server: sign-out ends the session", () => {
  it("finds the session ended once its refresh token is revoked", async () => {
    const tokens = await signedIn("bob", "bob-password-1");
    expect(await sessionLiveness(accessOnly(tokens), Date.now(), 0)).toBe("alive");
    await revokeRefreshToken(tokens.refreshToken!);
    expect(await sessionLiveness(accessOnly(tokens), Date.now(), 0)).toBe("ended");
  });
});

describe("the proxy refuses the cookie of an ended session", () => {
  const name = sessionCookieName();
  // A POST as the app's pages send it (Referrer-Policy: no-referrer): `Origin: null`, from the same origin.
  const request = async (path: string, tokens: SessionTokens, method = "GET") =>
    new NextRequest(`http://localhost:3000${path}`, {
      method,
      headers: {
        cookie: `${name}=${await encodeSession({ name: "Alice Example", tokens })}`,
        ...(method === "POST" ? { origin: "null", "sec-fetch-site": "same-origin" } : {}),
      },
    });
  const deletesCookie = (res: Response) =>
    res.headers.get("set-cookie")?.startsWith(`${name}=;`) && /; Max-Age=0(;|$)/.test(res.headers.get("set-cookie") ?? "");

  it("lets a live session's page load through, with the page's CSP", async () => {
    const res = await loginProxy(await request("/account", await signedIn()));
    expect(res.headers.get("x-middleware-next")).toBe("1");
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+' 'strict-dynamic'/);
    expect(res.headers.get("strict-transport-security")).toBeNull();
    expect(userinfoCalls()).toBe(1);
  });

  it("takes recovery codes off their cookie for one page load of /account, into a request header only the proxy sets", async () => {
    const tokens = await signedIn();
    const codes = `${recoveryCodesCookieName()}=sealed-codes`;
    const load = async (path: string, extra: Record<string, string> = {}) =>
      loginProxy(
        new NextRequest(`http://localhost:3000${path}`, {
          headers: { cookie: `${name}=${await encodeSession({ name: "Alice Example", tokens })}; ${codes}`, [RECOVERY_CODES_HEADER]: "forged", ...extra },
        }),
      );
    const res = await load("/account");
    expect(res.headers.get(`x-middleware-request-${RECOVERY_CODES_HEADER}`)).toBe("sealed-codes");
    expect(res.headers.get("set-cookie")).toMatch(new RegExp(`^${recoveryCodesCookieName()}=; Path=/account; .*Max-Age=0`));
    for (const other of [await load("/account/two-step-verification"), await load("/account", { "next-router-prefetch": "1" })]) {
      expect(other.headers.get(`x-middleware-request-${RECOVERY_CODES_HEADER}`)).toBeNull();
      expect(other.headers.get("x-middleware-override-headers")?.split(",")).not.toContain(RECOVERY_CODES_HEADER);
      expect(other.headers.get("set-cookie")).toBeNull();
    }
  });

  it("sends a page load to /login?reason=expired and deletes the cookie", async () => {
    const tokens = await signedIn();
    tamper = userinfoAnswers(401);
    const res = await loginProxy(await request("/account", tokens));
    expect(res.status).toBe(307);
    expect(res.headers.get("location")).toBe("http://localhost:3000/login?reason=expired");
    expect(deletesCookie(res)).toBe(true);
  });

  it("keeps a session whose access token has expired while the refresh fails: UserInfo's 401 for that token says nothing of the session", async () => {
    const tokens = { ...(await signedIn()), expiresAt: Date.now() - 1000 };
    const dueTokens = { ...(await signedIn()), expiresAt: Date.now() + 30_000 };
    const failingRefresh: Tamper = async (url, respond) =>
      url.pathname.endsWith("/oauth2/token") ? Response.json({ error: "server_error" }, { status: 500 }) : userinfoAnswers(401)(url, respond);
    tamper = failingRefresh;
    const res = await loginProxy(await request("/account", tokens));
    expect(res.headers.get("x-middleware-next")).toBe("1");
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(userinfoCalls()).toBe(0);
    // Its access token still good (due for refresh only), the session is asked about as ever.
    const due = await loginProxy(await request("/account", dueTokens));
    expect(due.status).toBe(307);
    expect(deletesCookie(due)).toBe(true);
  });

  it("hands next-auth's routes the request without the session, and deletes the cookie", async () => {
    const tokens = await signedIn();
    tamper = userinfoAnswers(401);
    const res = await loginProxy(await request("/api/auth/session", tokens));
    expect(res.headers.get("x-middleware-next")).toBe("1");
    expect(res.headers.get("x-middleware-request-cookie")).toBe("");
    expect(deletesCookie(res)).toBe(true);
  });

  it("reads a long session split into chunks as next-auth writes it, and splits a refreshed one the same way", async () => {
    const tokens = await signedIn();
    // A long name: the cookie passes the 4 kB a browser keeps (a long address, an RS256 ID token, another issuer's tokens).
    const session = { name: "A".repeat(3000), tokens };
    const { set } = sessionCookieWrites(await encodeSession(session), []);
    expect(set.map(([cookie]) => cookie)).toEqual([`${name}.0`, `${name}.1`]);
    expect(set.every(([, value]) => value.length <= 4096 - 163)).toBe(true);
    const cookieHeader = (pairs: Array<[string, string]>) => pairs.map(([cookie, value]) => `${cookie}=${value}`).join("; ");
    const live = await loginProxy(new NextRequest("http://localhost:3000/account", { headers: { cookie: cookieHeader(set) } }));
    expect(live.headers.get("x-middleware-next")).toBe("1");
    expect(live.headers.get("set-cookie")).toBeNull();
    expect(userinfoCalls()).toBe(1);

    // Refreshed: written in chunks again (one cookie over 4 kB would be dropped, new tokens and all).
    const due = sessionCookieWrites(await encodeSession({ ...session, tokens: { ...tokens, expiresAt: Date.now() + 1000 } }), []).set;
    const res = await loginProxy(new NextRequest("http://localhost:3000/account", { headers: { cookie: cookieHeader(due) } }));
    const written = res.headers.getSetCookie();
    expect(written.map((c) => c.slice(0, c.indexOf("=")))).toEqual([`${name}.0`, `${name}.1`]);
    const pairs = written.map((c) => c.slice(0, c.indexOf(";")).split("=") as [string, string]);
    expect(pairs.every(([, value]) => value.length <= 4096 - 163)).toBe(true);
    const refreshed = await decodeSession(sessionCookieValue(pairs.map(([cookie, value]) => ({ name: cookie, value }))));
    expect(refreshed?.name).toBe(session.name);
    expect(refreshed?.tokens?.refreshToken).not.toBe(tokens.refreshToken);
  });

  it("keeps the session when the authorization server cannot be reached", async () => {
    const tokens = await signedIn();
    tamper = networkDown;
    const res = await loginProxy(await request("/account", tokens));
    expect(res.headers.get("x-middleware-next")).toBe("1");
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("keeps a session whose check found its refresh token spent by a refresh under way: the refreshed session, not a deleted cookie", async () => {
    const tokens = await signedIn();
    // An issuer that lets the login app introspect answers `active: false` for a refresh token its
    // rotation spent: the check (D, just before the refresh margin) is answered after the refresh
    // (A, just past it) of the same cookie has rotated the token.
    let rotated = () => {};
    const rotation = new Promise<void>((resolve) => (rotated = resolve));
    tamper = async (url, respond) => {
      if (url.pathname.endsWith("/oauth2/introspect")) {
        await rotation;
        return Response.json({ active: false });
      }
      const res = await respond();
      if (url.pathname.endsWith("/oauth2/token")) rotated();
      return res;
    };
    const checked = loginProxy(await request("/account", tokens));
    const refreshing = loginProxy(await request("/account", { ...tokens, expiresAt: Date.now() + 1000 }));
    const [d, a] = await Promise.all([checked, refreshing]);
    expect(deletesCookie(d)).not.toBe(true);
    expect(d.headers.get("x-middleware-next")).toBe("1");
    const written = async (res: Response) => decodeSession(/^[^=]+=([^;]+)/.exec(res.headers.get("set-cookie") ?? "")?.[1]);
    const [dSession, aSession] = [await written(d), await written(a)];
    expect(aSession?.tokens?.refreshToken).not.toBe(tokens.refreshToken);
    expect(dSession?.tokens?.refreshToken).toBe(aSession?.tokens?.refreshToken);
  });

  it("ends a session the issuer says is ended though a refresh is under way, when that refresh kept the refresh token (an issuer that does not rotate)", async () => {
    const tokens = await signedIn();
    let refreshed = () => {};
    const refresh = new Promise<void>((resolve) => (refreshed = resolve));
    tamper = async (url, respond) => {
      if (url.pathname.endsWith("/oauth2/introspect")) {
        await refresh;
        return Response.json({ active: false });
      }
      const res = await respond();
      if (!url.pathname.endsWith("/oauth2/token")) return res;
      // The same tokens, less a new refresh token: the client keeps the one it has.
      const { refresh_token: _kept, ...body } = (await res.json()) as Record<string, unknown>;
      refreshed();
      return Response.json(body, { status: res.status, headers: { "Cache-Control": "no-store" } });
    };
    const checked = loginProxy(await request("/account", tokens));
    const refreshing = loginProxy(await request("/account", { ...tokens, expiresAt: Date.now() + 1000 }));
    const [d] = await Promise.all([checked, refreshing]);
    expect(d.status).toBe(307);
    expect(deletesCookie(d)).toBe(true);
  });

  it("does not ask about a session it has just refreshed", async () => {
    const tokens = await signedIn();
    const res = await loginProxy(await request("/account", { ...tokens, expiresAt: Date.now() + 1000 }));
    expect(res.headers.get("set-cookie")).toMatch(new RegExp(`^${name}=[^;]+; Path=/;`));
    expect(requests.filter((r) => new URL(r.url).pathname.endsWith("/oauth2/token"))).toHaveLength(1);
    expect(userinfoCalls()).toBe(0);
  });

  it("deletes at sign-out what the account pages sealed for the user (a secret being set up, new recovery codes)", async () => {
    const res = await loginProxy(await request("/api/auth/signout", await signedIn(), "POST"));
    const written = res.headers.getSetCookie();
    expect(written).toHaveLength(2);
    expect(written[0]).toMatch(new RegExp(`^${enrolmentCookieName()}=; Path=/account; .*Max-Age=0`));
    expect(written[1]).toMatch(new RegExp(`^${recoveryCodesCookieName()}=; Path=/account; .*Max-Age=0`));
  });

  it.each(["/api/auth/signout", "/account/sign-out"])(
    "signs out at %s a session due for a refresh without refreshing it, and deletes what the account pages sealed",
    async (path) => {
      const tokens = await signedIn();
      const res = await loginProxy(await request(path, { ...tokens, expiresAt: Date.now() + 1000 }, "POST"));
      // The refresh token next-auth's sign-out revokes is the session's own, not a rotated one.
      expect(requests.filter((r) => new URL(r.url).pathname.endsWith("/oauth2/token"))).toHaveLength(0);
      const written = res.headers.getSetCookie();
      expect(written).toHaveLength(2);
      expect(written[0]).toMatch(new RegExp(`^${enrolmentCookieName()}=; Path=/account; .*Max-Age=0`));
      expect(written[1]).toMatch(new RegExp(`^${recoveryCodesCookieName()}=; Path=/account; .*Max-Age=0`));
      expect(res.headers.get("x-middleware-request-cookie")).toContain(`${name}=`);
    },
  );

  it("changes nothing for a sign-out posted from another site (refused there): no cookie deleted, the session asked about as usual", async () => {
    const tokens = await signedIn();
    for (const path of ["/api/auth/signout", "/account/sign-out"]) {
      const res = await loginProxy(
        new NextRequest(`http://localhost:3000${path}`, {
          method: "POST",
          headers: { cookie: `${name}=${await encodeSession({ name: "Alice Example", tokens })}`, origin: "https://evil.example" },
        }),
      );
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    expect(userinfoCalls()).toBe(1);
  });

  it("forgets a session's answer at sign-out, so its replayed cookie is asked about again", async () => {
    const tokens = await signedIn();
    await loginProxy(await request("/account", tokens));
    await loginProxy(await request("/api/auth/signout", tokens, "POST"));
    expect(userinfoCalls()).toBe(1);
    tamper = userinfoAnswers(401);
    const res = await loginProxy(await request("/account", tokens));
    expect(res.headers.get("location")).toBe("http://localhost:3000/login?reason=expired");
    expect(userinfoCalls()).toBe(2);
  });

  // Needs the server side of sign-out (see above).
  it("sends the replayed cookie of a signed-out session to /login, against the real server", async () => {
    const tokens = await signedIn("bob", "bob-password-1");
    expect((await loginProxy(await request("/account", tokens))).headers.get("x-middleware-next")).toBe("1");
    await loginProxy(await request("/api/auth/signout", tokens, "POST"));
    await revokeRefreshToken(tokens.refreshToken!);
    const res = await loginProxy(await request("/account", tokens));
    expect(res.headers.get("location")).toBe("http://localhost:3000/login?reason=expired");
  });
});

describe("the session cookie, whole or in next-auth's chunks", () => {
  const name = sessionCookieName();
  it("joins chunks in the order of their numbers, not of their names", () => {
    const cookies = [10, 2, 0, 1, 3, 4, 5, 6, 7, 8, 9].map((i) => ({ name: `${name}.${i}`, value: String.fromCharCode(97 + i) }));
    expect(sessionCookieValue([...cookies, { name: "other", value: "x" }])).toBe("abcdefghijk");
    expect(sessionCookieValue([{ name, value: "whole" }])).toBe("whole");
    expect(
      sessionCookieValue([
        { name: `${name}.x`, value: "not a chunk" },
        { name: `${name}x`, value: "nor this" },
      ]),
    ).toBeUndefined();
  });

  it("writes a short value whole and removes the chunks of a longer one before it", () => {
    expect(sessionCookieWrites("short", [`${name}.0`, `${name}.1`, "other"])).toEqual({ set: [[name, "short"]], remove: [`${name}.0`, `${name}.1`] });
    const long = sessionCookieWrites("x".repeat(8000), [name]);
    expect(long.set.map(([cookie, value]) => [cookie, value.length])).toEqual([
      [`${name}.0`, 3933],
      [`${name}.1`, 3933],
      [`${name}.2`, 134],
    ]);
    expect(long.remove).toEqual([name]);
  });
});
