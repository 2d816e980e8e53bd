import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { decodeJwt } from "jose";
import { routes } from "@/lib/oauth/routes.ts";
import type { WorkspaceRoute } from "@/lib/oauth/routes.ts";
import { parseBasic } from "@/lib/oauth/client-auth/methods/client-secret-basic.ts";
import { routeContext, introspect } from "@/lib/testing/oauth.ts";
import {
  END_USER_AGENT_HEADER,
  END_USER_IP_HEADER,
  expectedAtHash,
  passwordSignIn,
  refreshTokens,
  retryAt,
  revokeRefreshToken,
  setFetchForTests,
  SignInError,
  TOKEN_REQUEST_TIMEOUT_MS,
} from "@/lib/login/token-client.ts";
import type { CredentialsConfig } from "next-auth/providers/credentials";
import { authOptions } from "@/lib/login/auth-options.ts";
import { refreshSession } from "@/lib/login/session.ts";
import { checkIssuer, signInScope } from "@/lib/login/token-client.ts";
import { loginConfig } from "@/lib/login/config.ts";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import { db } from "@/lib/platform/db.ts";
import { createSigningKey } from "@/lib/oauth/store/signing-keys.ts";
import { keySet } from "@/lib/oauth/tokens/keys.ts";
import { withCharChanged } from "@/lib/testing/tamper.ts";

// The login app speaks HTTP only; here its requests are served in-process by the real route
// handlers, so the whole exchange runs without a server.
const ROUTES: Record<string, WorkspaceRoute> = {
  "/demo/default/.well-known/openid-configuration": routes.discovery,
  "/demo/default/.well-known/jwks.json": routes.jwks,
  "/demo/default/oauth2/token": routes.token,
  "/demo/default/oauth2/revoke": routes.revocation,
  "/demo/default/oauth2/introspect": routes.introspection,
};

type Tamper = (url: URL, request: Request, response: () => Promise<Response>) => Promise<Response>;
let tamper: Tamper | undefined;
const requests: Request[] = [];

const inProcessFetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const request = new Request(input, init);
  requests.push(request.clone());
  const url = new URL(request.url);
  const route = ROUTES[url.pathname];
  const respond = async () => (route ? route[request.method as "GET" | "POST"](request, routeContext()) : new Response("not found", { status: 404 }));
  return tamper ? tamper(url, request, respond) : respond();
}) as typeof fetch;

beforeEach(() => {
  tamper = undefined;
  requests.length = 0;
  setFetchForTests(inProcessFetch);
});
afterEach(() => {
  setFetchForTests(undefined);
  vi.restoreAllMocks();
});

const tokenRequests = () => requests.filter((r) => new URL(r.url).pathname.endsWith("/oauth2/token"));

describe("passwordSignIn", () => {
  it("signs alice in as demo-web (Basic), with the login scope and the account scope the issuer lists, and validates the ID token", async () => {
    const { tokens, user } = await passwordSignIn("alice", "alice-password-1", { ip: "203.0.113.9" });
    expect(user).toEqual({ sub: decodeJwt(tokens.accessToken).sub, name: "Alice Example", email: "alice@example.com" });
    expect(tokens.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(tokens.lifetime).toBe(3600);
    expect(tokens.expiresAt).toBeGreaterThan(Date.now() + 3_500_000);
    const [request] = tokenRequests();
    // oauth4webapi form-encodes id and secret strictly (RFC 6749 §2.3.1: "-" as %2D).
    expect(parseBasic(request!.headers.get("authorization")!, "")).toEqual({ clientId: "demo-web", secret: "demo-web-secret" });
    expect(request!.headers.get(END_USER_IP_HEADER)).toBe("203.0.113.9");
    expect(request!.headers.get(END_USER_AGENT_HEADER)).toBeNull();
    const body = new URLSearchParams(await request!.text());
    expect(Object.fromEntries(body)).toEqual({
      grant_type: "password",
      username: "alice",
      password: "alice-password-1",
      scope: "openid profile email offline_access account",
    });
  });

  it("asks for the account scope only of an issuer whose discovery lists it", () => {
    expect(signInScope({ scopes_supported: ["openid", "account"] })).toBe("openid profile email offline_access account");
    expect(signInScope({ scopes_supported: ["openid", "profile"] })).toBe("openid profile email offline_access");
    expect(signInScope({})).toBe("openid profile email offline_access");
  });

  it("passes the browser's User-Agent for the audit trail, beside its address", async () => {
    const userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";
    await passwordSignIn("alice", "alice-password-1", { ip: "2001:db8::7", userAgent });
    const [request] = tokenRequests();
    expect(request!.headers.get(END_USER_AGENT_HEADER)).toBe(userAgent);
    expect(request!.headers.get(END_USER_IP_HEADER)).toBe("2001:db8::7");
  });

  it("is called by the login app's authorize() with the sign-in request's User-Agent", async () => {
    const provider = authOptions().providers[0] as CredentialsConfig;
    const userAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";
    const user = await provider.options.authorize(
      { username: "alice", password: "alice-password-1" },
      { method: "POST", headers: { "user-agent": userAgent, "x-forwarded-for": "198.51.100.4" }, body: {}, query: {} },
    );
    expect(user).toMatchObject({ name: "Alice Example", email: "alice@example.com" });
    const [request] = tokenRequests();
    expect(request!.headers.get(END_USER_AGENT_HEADER)).toBe(userAgent);
    expect(request!.headers.get(END_USER_IP_HEADER)).toBe("198.51.100.4");
  });

  it("cuts an overlong User-Agent to 512 characters and leaves out a blank one", async () => {
    await passwordSignIn("alice", "alice-password-1", { userAgent: ` ${"a".repeat(600)} ` });
    await passwordSignIn("alice", "alice-password-1", { userAgent: "  " });
    const [long, blank] = tokenRequests();
    expect(long!.headers.get(END_USER_AGENT_HEADER)).toBe("a".repeat(512));
    expect(blank!.headers.get(END_USER_AGENT_HEADER)).toBeNull();
  });

  it.each([
    ["alice", "wrong"],
    ["nobody", "alice-password-1"],
    ["carol", "carol-password-1"],
  ])("reports %s / %s as invalid_credentials", async (username, password) => {
    await expect(passwordSignIn(username, password)).rejects.toMatchObject({ reason: "invalid_credentials" });
  });

  it("reports HTTP 429 as too_many_attempts, with the end its Retry-After names", async () => {
    tamper = async (url, _req, respond) =>
      url.pathname.endsWith("/token") ? Response.json({ error: "too_many_attempts" }, { status: 429, headers: { "Retry-After": "60" } }) : respond();
    const before = Date.now();
    const err = await passwordSignIn("alice", "alice-password-1").catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "too_many_attempts" });
    const { retryAt: at } = err as SignInError;
    expect(at).toBeGreaterThanOrEqual(before + 60_000);
    expect(at).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it.each([
    ["120", 120_000],
    ["Tue, 01 Dec 2026 17:05:00 GMT", 300_000],
    [null, undefined],
    ["", undefined],
    ["soon", undefined],
    ["0", undefined],
    ["-5", undefined],
    ["86401", undefined],
    ["Tue, 01 Dec 2026 16:00:00 GMT", undefined],
  ])("reads Retry-After %j as %j ms from now", (header, delay) => {
    const now = Date.UTC(2026, 11, 1, 17, 0, 0);
    expect(retryAt(header, now)).toBe(delay === undefined ? undefined : now + delay);
  });

  it("reports a server it cannot reach as unreachable", async () => {
    tamper = async () => {
      throw new TypeError("fetch failed");
    };
    await expect(passwordSignIn("alice", "alice-password-1")).rejects.toMatchObject({ reason: "unreachable" });
  });

  it("refuses an ID token whose signature does not verify", async () => {
    tamper = async (url, _req, respond) => {
      const res = await respond();
      if (!url.pathname.endsWith("/token")) return res;
      const body = await res.json();
      const [h, p, sig] = body.id_token.split(".");
      body.id_token = `${h}.${p}.${withCharChanged(sig, 0)}`;
      return Response.json(body);
    };
    await expect(passwordSignIn("alice", "alice-password-1")).rejects.toMatchObject({ reason: "refused" });
  });

  it("refuses an access token that does not match the ID token's at_hash", async () => {
    tamper = async (url, _req, respond) => {
      const res = await respond();
      if (!url.pathname.endsWith("/token")) return res;
      const body = await res.json();
      body.access_token = `${body.access_token}x`;
      return Response.json(body);
    };
    const err = await passwordSignIn("alice", "alice-password-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SignInError);
    expect(err).toMatchObject({ reason: "refused", cause: "at_hash does not match the access token" });
  });

  it("refuses an ID token for another audience", async () => {
    const { ALICE, postToken } = await import("@/lib/testing/oauth.ts");
    const other = await (await postToken({ grant_type: "password", client_id: "demo-spa", ...ALICE })).json();
    tamper = async (url, _req, respond) => (url.pathname.endsWith("/token") ? Response.json(other) : respond());
    await expect(passwordSignIn("alice", "alice-password-1")).rejects.toMatchObject({ reason: "refused" });
  });
});

// Each request to the issuer carries its own timeout (AbortSignal.timeout, spied on here so that
// the test ends it without waiting): a server that takes the connection and never answers must
// not hold a sign-in, or a page load waiting for a refresh, for ever.
describe("a server that never answers", () => {
  /** Runs `call` against an issuer whose `path` never answers, then times that request out. */
  async function timedOut(path: string, call: () => Promise<unknown>): Promise<unknown> {
    const timers = new Map<AbortSignal, { ms: number; controller: AbortController }>();
    vi.spyOn(AbortSignal, "timeout").mockImplementation((ms: number) => {
      const controller = new AbortController();
      timers.set(controller.signal, { ms, controller });
      return controller.signal;
    });
    const held: Array<AbortSignal | undefined> = [];
    setFetchForTests((async (input: string | URL | Request, init?: RequestInit) => {
      if (!new URL(input instanceof Request ? input.url : input).pathname.endsWith(path)) return inProcessFetch(input, init);
      const signal = init?.signal ?? undefined;
      held.push(signal);
      // A request without a signal would wait for ever: it fails at once, and the test at its assertion.
      if (!signal) throw new TypeError("fetch failed");
      return new Promise<Response>((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    }) as typeof fetch);
    const outcome = call().then(
      () => "answered",
      (err: unknown) => err,
    );
    await vi.waitFor(() => expect(held).toHaveLength(1));
    expect(held[0]).toBeInstanceOf(AbortSignal);
    const timer = timers.get(held[0]!);
    expect(TOKEN_REQUEST_TIMEOUT_MS).toBeGreaterThan(0);
    expect(timer?.ms).toBe(TOKEN_REQUEST_TIMEOUT_MS);
    // What AbortSignal.timeout does when its time is up.
    timer?.controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
    return outcome;
  }

  it.each([
    ["discovery", "/.well-known/openid-configuration"],
    ["the password grant", "/oauth2/token"],
  ])("a sign-in gives up on %s: unreachable", async (_what, path) => {
    const err = await timedOut(path, () => passwordSignIn("alice", "alice-password-1"));
    expect(err).toBeInstanceOf(SignInError);
    expect((err as SignInError).reason).toBe("unreachable");
  });

  it("a refresh gives up: unreachable, which keeps the session (lib/login/session.ts)", async () => {
    const { tokens } = await passwordSignIn("alice", "alice-password-1");
    const err = await timedOut("/oauth2/token", () => refreshTokens(tokens.refreshToken!, tokens.idToken));
    expect(err).toBeInstanceOf(SignInError);
    expect((err as SignInError).reason).toBe("unreachable");
  });

  it("a sign-out's revocation gives up (logged by the caller)", async () => {
    const { tokens } = await passwordSignIn("alice", "alice-password-1");
    const err = await timedOut("/oauth2/revoke", () => revokeRefreshToken(tokens.refreshToken!));
    expect(err).toBeInstanceOf(DOMException);
    expect((err as DOMException).name).toBe("TimeoutError");
  });
});

describe("expectedAtHash", () => {
  it("matches the OIDC test vector for ES256 / RS256", () => {
    expect(expectedAtHash("dNZX1hEZ9wBCzNL40Upu646bdzQA", "ES256")).toBe("wfgvmE9VxjAudsl9lc6TqA");
  });
});

describe("refresh and revocation", () => {
  it("rotates the tokens", async () => {
    const first = await passwordSignIn("alice", "alice-password-1");
    const second = await refreshTokens(first.tokens.refreshToken!, first.tokens.idToken);
    expect(second.tokens.refreshToken).not.toBe(first.tokens.refreshToken);
    expect(second.user?.email).toBe("alice@example.com");
    expect(await introspect(first.tokens.refreshToken!)).toEqual({ active: false });
  });

  it("revokes the refresh token; refreshing then fails", async () => {
    const { tokens } = await passwordSignIn("bob", "bob-password-1");
    await revokeRefreshToken(tokens.refreshToken!);
    expect(await introspect(tokens.refreshToken!)).toEqual({ active: false });
    await expect(refreshTokens(tokens.refreshToken!, tokens.idToken)).rejects.toBeInstanceOf(SignInError);
  });
});

describe("refreshSession", () => {
  const expiring = async () => {
    const { tokens } = await passwordSignIn("alice", "alice-password-1");
    return { sub: "x", tokens: { ...tokens, expiresAt: Date.now() + 1000 } };
  };

  it("leaves a session whose access token is far from expiry alone", async () => {
    const { tokens } = await passwordSignIn("alice", "alice-password-1");
    requests.length = 0;
    expect(await refreshSession({ tokens })).toEqual({ kind: "unchanged" });
    expect(requests).toHaveLength(0);
  });

  it("spends a refresh token once for several requests of one session at once", async () => {
    const session = await expiring();
    requests.length = 0;
    const outcomes = await Promise.all([refreshSession(session), refreshSession(session), refreshSession(session)]);
    expect(tokenRequests()).toHaveLength(1);
    expect(outcomes.every((o) => o.kind === "refreshed")).toBe(true);
    const refreshed = new Set(outcomes.map((o) => (o.kind === "refreshed" ? o.token.tokens?.refreshToken : undefined)));
    expect(refreshed.size).toBe(1);
    // A request that arrives later with the old cookie gets the same result, not a second spend.
    expect((await refreshSession(session)).kind).toBe("refreshed");
    expect(tokenRequests()).toHaveLength(1);
  });

  it("ends the session when the refresh is refused", async () => {
    const session = await expiring();
    await revokeRefreshToken(session.tokens.refreshToken!);
    expect(await refreshSession(session)).toEqual({ kind: "ended", reason: "invalid_credentials" });
  });

  it("ends the session when the server refuses the client (invalid_client)", async () => {
    const session = await expiring();
    tamper = async (url, _request, respond) =>
      url.pathname.endsWith("/oauth2/token") ? Response.json({ error: "invalid_client" }, { status: 401 }) : respond();
    expect(await refreshSession(session)).toMatchObject({ kind: "ended" });
  });

  it.each([
    ["busy (429)", () => Response.json({ error: "too_many_requests" }, { status: 429, headers: { "Retry-After": "30" } })],
    ["failing (500)", () => Response.json({ error: "server_error" }, { status: 500 })],
    ["a load balancer's page (503)", () => new Response("<html>deploying</html>", { status: 503, headers: { "Content-Type": "text/html" } })],
  ])("keeps the session when the server is %s, and tries again at the next request", async (_name, answer) => {
    const session = await expiring();
    requests.length = 0;
    tamper = async (url, _request, respond) => (url.pathname.endsWith("/oauth2/token") ? answer() : respond());
    expect(await refreshSession(session)).toEqual({ kind: "deferred" });
    tamper = undefined;
    expect((await refreshSession(session)).kind).toBe("refreshed");
    expect(tokenRequests()).toHaveLength(2);
  });

  it("keeps the session when the server is unreachable", async () => {
    const session = await expiring();
    tamper = async () => {
      throw new TypeError("fetch failed");
    };
    expect(await refreshSession(session)).toEqual({ kind: "deferred" });
  });
});

describe("the end user's headers go only to an issuer that knows them", () => {
  it.each([
    ["auto", "http://localhost:3000/demo/default", true],
    ["auto", "https://tenant.us.authz.cloudentity.io/tenant/workspace", false],
    ["auto", "http://localhost:3001/demo/default", false],
    ["yes", "https://tenant.us.authz.cloudentity.io/tenant/workspace", true],
    ["no", "http://localhost:3000/demo/default", false],
  ] as const)("LOGIN_FORWARD_END_USER=%s with the issuer %s: %s", (setting, issuer, forwards) => {
    const s = settings();
    const saved = { LOGIN_FORWARD_END_USER: s.LOGIN_FORWARD_END_USER, OAUTH_ISSUER: s.OAUTH_ISSUER };
    Object.assign(s, { LOGIN_FORWARD_END_USER: setting, OAUTH_ISSUER: issuer });
    try {
      expect(loginConfig().forwardEndUser).toBe(forwards);
    } finally {
      Object.assign(s, saved);
    }
  });

  it("sends neither ropc-forwarded-for nor ropc-forwarded-user-agent when the issuer is not to get them", async () => {
    vi.spyOn(settings(), "LOGIN_FORWARD_END_USER", "get").mockReturnValue("no");
    setFetchForTests(inProcessFetch);
    await passwordSignIn("alice", "alice-password-1", { ip: "203.0.113.9", userAgent: "Mozilla/5.0" });
    const [request] = tokenRequests();
    expect(request!.headers.get(END_USER_IP_HEADER)).toBeNull();
    expect(request!.headers.get(END_USER_AGENT_HEADER)).toBeNull();
  });
});

describe("an issuer without a revocation endpoint", () => {
  beforeEach(() => {
    tamper = async (url, _req, respond) => {
      const res = await respond();
      if (!url.pathname.endsWith("/openid-configuration")) return res;
      const { revocation_endpoint: _dropped, ...meta } = await res.json();
      return Response.json(meta);
    };
  });

  it("is said at start, at error level, once per issuer", async () => {
    const error = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    expect(await checkIssuer()).toEqual({ issuer: "http://localhost:3000/demo/default", revocation: false });
    expect(error).toHaveBeenCalledTimes(1);
    expect(error.mock.calls[0]?.[0]).toEqual({ event: "login.issuer.no_revocation", issuer: "http://localhost:3000/demo/default" });
    setFetchForTests(inProcessFetch);
    await checkIssuer();
    expect(error).toHaveBeenCalledTimes(1);
  });

  it("makes sign-out say it could not revoke, without a request, and the refresh token lives on", async () => {
    const { tokens } = await passwordSignIn("bob", "bob-password-1");
    requests.length = 0;
    expect(await revokeRefreshToken(tokens.refreshToken!)).toBe("unsupported");
    expect(requests.filter((r) => r.url.endsWith("/oauth2/revoke"))).toHaveLength(0);
    expect(await introspect(tokens.refreshToken!)).toMatchObject({ active: true });
  });

  it("is not reported for our own issuer, which has one", async () => {
    tamper = undefined;
    const error = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    expect(await checkIssuer()).toEqual({ issuer: "http://localhost:3000/demo/default", revocation: true });
    expect(error).not.toHaveBeenCalled();
  });
});

describe("the issuer's JWKS after a key rotation", () => {
  const jwksRequests = () => requests.filter((r) => r.url.endsWith("/jwks.json"));

  it("is fetched again, once, when an ID token names a kid the cached copy lacks", async () => {
    await passwordSignIn("alice", "alice-password-1");
    // The issuer rotates: a new key signs from now on (and this process reads its keys again).
    const kid = await createSigningKey(db(), new Date(Date.now() - 1000));
    await keySet(Date.now() + 10 ** 12);
    requests.length = 0;
    const { tokens } = await passwordSignIn("alice", "alice-password-1");
    expect(JSON.parse(Buffer.from(tokens.idToken.split(".")[0]!, "base64url").toString()).kid).toBe(kid);
    expect(jwksRequests()).toHaveLength(1);
    // The fresh copy serves the next sign-in.
    requests.length = 0;
    await passwordSignIn("alice", "alice-password-1");
    expect(jwksRequests()).toHaveLength(0);
  });

  it("refuses the sign-in when the kid is still unknown after that one fetch", async () => {
    await passwordSignIn("alice", "alice-password-1");
    await createSigningKey(db(), new Date(Date.now() - 1000));
    await keySet(Date.now() + 2 * 10 ** 12);
    // A JWKS that does not have the new key yet (a stale cache in front of the issuer).
    const published = new Set(
      ((await (await routes.jwks.GET(new Request("http://localhost:3000/x"), routeContext())).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid),
    );
    const signer = (await keySet(Date.now() + 2 * 10 ** 12)).signer("ES256").kid;
    expect(published.has(signer)).toBe(true);
    tamper = async (url, _req, respond) => {
      const res = await respond();
      if (!url.pathname.endsWith("/jwks.json")) return res;
      const { keys } = (await res.json()) as { keys: { kid: string }[] };
      return Response.json({ keys: keys.filter((k) => k.kid !== signer) });
    };
    requests.length = 0;
    await expect(passwordSignIn("alice", "alice-password-1")).rejects.toMatchObject({ reason: "refused" });
    expect(jwksRequests()).toHaveLength(1);
  });
});
