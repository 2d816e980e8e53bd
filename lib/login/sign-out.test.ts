import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NextRequest } from "next/server";
import type { NextAuthOptions } from "next-auth";
import { logger } from "@/lib/platform/logger.ts";
import { inProcessFetch, introspect } from "@/lib/testing/oauth.ts";
import { authOptions, type SignOutExchange } from "@/lib/login/auth-options.ts";
import { authRoute, SIGN_OUT_FAILED_PATH } from "@/lib/login/auth-route.ts";
import { SIGNED_OUT_PATH } from "@/lib/login/form-sign-in.ts";
import { passwordSignIn, setFetchForTests, type SessionTokens } from "@/lib/login/token-client.ts";

// A sign-out's two halves: the options' `events.signOut`, run here against the real authorization
// server in-process, and the route's answer once next-auth has run it. next-auth itself (its CSRF
// check, reading the cookie from next/headers) needs a request of Next's and is run by the
// browser tests (e2e/account.spec.ts); here it is replaced by what its signout.js does: the
// session's event, then a redirect to the callback that deletes the cookie, whatever the event did.
const DELETION = "next-auth.session-token=; Path=/; Max-Age=0; HttpOnly";
const nextAuth = vi.hoisted(() => ({ tokens: undefined as SessionTokens | undefined }));
vi.mock("next-auth", () => ({
  default: async (req: Request, _ctx: unknown, options: NextAuthOptions) => {
    await options.events?.signOut?.({ token: { tokens: nextAuth.tokens }, session: undefined as never });
    const body = new URLSearchParams(await req.text());
    const url = new URL(body.get("callbackUrl") ?? "/", req.url).href;
    const headers = { "Set-Cookie": DELETION };
    return body.get("json") === "true" ? Response.json({ url }, { headers }) : new Response(null, { status: 302, headers: { ...headers, Location: url } });
  },
}));

const APP = "http://localhost:3000";

/** The revocation endpoint as a test wants it: undefined for the real one. */
let revocation: (() => Promise<Response>) | undefined;
let discovery: ((meta: Record<string, unknown>) => Record<string, unknown>) | undefined;
const issuer = (async (input: string | URL | Request, init?: RequestInit) => {
  const request = new Request(input, init);
  const { pathname } = new URL(request.url);
  if (revocation && pathname.endsWith("/oauth2/revoke")) return revocation();
  const res = await inProcessFetch(request);
  return discovery && pathname.endsWith("/openid-configuration") ? Response.json(discovery((await res.json()) as Record<string, unknown>)) : res;
}) as typeof fetch;

const FAILURES: Array<[string, () => Promise<Response>]> = [
  ["answers 503", () => Promise.resolve(new Response(null, { status: 503 }))],
  ["answers 500 with an OAuth error", () => Promise.resolve(Response.json({ error: "server_error" }, { status: 500 }))],
  ["cannot be reached", () => Promise.reject(new TypeError("fetch failed"))],
];

async function signedIn(): Promise<SessionTokens> {
  const { tokens } = await passwordSignIn("alice", "alice-password-1");
  return tokens;
}

beforeEach(() => {
  revocation = undefined;
  discovery = undefined;
  setFetchForTests(issuer);
});
afterEach(() => {
  setFetchForTests(undefined);
  vi.restoreAllMocks();
});

describe("a sign-out's revocation (events.signOut)", () => {
  const signOutEvent = async (tokens: SessionTokens): Promise<SignOutExchange> => {
    const outcome: SignOutExchange = {};
    await authOptions(undefined, outcome).events!.signOut!({ token: { tokens }, session: undefined as never });
    return outcome;
  };

  it("revokes the session's refresh token at the issuer", async () => {
    const tokens = await signedIn();
    expect(await signOutEvent(tokens)).toEqual({ revocation: "revoked" });
    expect(await introspect(tokens.refreshToken!)).toEqual({ active: false });
  });

  it.each(FAILURES)("says it failed when the issuer's revocation endpoint %s, and the session lives on", async (_name, answer) => {
    const tokens = await signedIn();
    revocation = answer;
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    expect(await signOutEvent(tokens)).toEqual({ revocation: "failed" });
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ event: "logout.revoke_failed" }), "revocation at sign-out failed");
    expect(await introspect(tokens.refreshToken!)).toMatchObject({ active: true });
  });

  // RFC 7009 §2.2 answers 200 for a token already invalid; some issuers refuse it instead (Google's
  // answers 400 invalid_token, "Token expired or revoked"). The issuer then says the session is
  // over: a sign-out that failed on it could never succeed.
  it.each([["invalid_token", 400]])("takes the issuer's %s (%i) for a token it already ended: the sign-out goes through", async (error, status) => {
    const tokens = await signedIn();
    revocation = () => Promise.resolve(Response.json({ error, error_description: "Token expired or revoked" }, { status }));
    const info = vi.spyOn(logger, "info").mockImplementation(() => undefined);
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    expect(await signOutEvent(tokens)).toEqual({ revocation: "already_ended" });
    expect(info).toHaveBeenCalledWith({ event: "logout.already_ended", error }, "sign-out: the issuer says the session's refresh token had already ended");
    expect(warn).not.toHaveBeenCalled();
  });

  // invalid_grant among them: Authlib's revocation endpoint answers it for a live token of another client.
  it.each([
    ["invalid_client", 401],
    ["invalid_request", 400],
    ["unsupported_token_type", 400],
    ["invalid_grant", 400],
    ["invalid_token", 401],
  ])("still fails on any other refusal (%s, %i): the token may live on", async (error, status) => {
    const tokens = await signedIn();
    revocation = () => Promise.resolve(Response.json({ error }, { status }));
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    expect(await signOutEvent(tokens)).toEqual({ revocation: "failed" });
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ event: "logout.revoke_failed" }), "revocation at sign-out failed");
    expect(await introspect(tokens.refreshToken!)).toMatchObject({ active: true });
  });

  it("says so when the issuer has no revocation endpoint", async () => {
    discovery = ({ revocation_endpoint: _dropped, ...meta }) => meta;
    const tokens = await signedIn();
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    expect(await signOutEvent(tokens)).toEqual({ revocation: "unsupported" });
    expect(warn).toHaveBeenCalledWith({ event: "logout.revoke_unsupported" }, "sign-out could not revoke: the issuer has no revocation endpoint");
    expect(await introspect(tokens.refreshToken!)).toMatchObject({ active: true });
  });
});

describe("next-auth's sign-out route (POST /api/auth/signout)", () => {
  const postSignOut = (extra: Record<string, string> = {}, at = APP) =>
    authRoute(
      new NextRequest(`${at}/api/auth/signout`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrfToken: "csrf-token-1", callbackUrl: SIGNED_OUT_PATH, ...extra }),
      }),
      { params: Promise.resolve({ nextauth: ["signout"] }) },
    );

  it("passes on next-auth's answer once the issuer has revoked the session: the cookie deleted", async () => {
    nextAuth.tokens = await signedIn();
    const res = await postSignOut();
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`${APP}${SIGNED_OUT_PATH}`);
    expect(res.headers.getSetCookie()).toEqual([DELETION]);
  });

  it.each(FAILURES)("signs nothing out when the issuer's revocation endpoint %s: the cookie stays, and the page says so", async (_name, answer) => {
    nextAuth.tokens = await signedIn();
    revocation = answer;
    vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    const res = await postSignOut();
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`${APP}${SIGN_OUT_FAILED_PATH}`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.getSetCookie()).toEqual([]);
    // A later sign-out, with the issuer back, ends the session.
    revocation = undefined;
    const again = await postSignOut();
    expect(again.headers.get("location")).toBe(`${APP}${SIGNED_OUT_PATH}`);
    expect(await introspect(nextAuth.tokens.refreshToken!)).toEqual({ active: false });
  });

  it("sends the browser to the app's own address (APP_URL), not to the one its server listens on behind a proxy", async () => {
    nextAuth.tokens = await signedIn();
    revocation = FAILURES[0]![1];
    vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    // Next builds a route handler's request URL from the address it listens on.
    const res = await postSignOut({}, "http://10.0.0.5:3000");
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`${APP}${SIGN_OUT_FAILED_PATH}`);
  });

  it("answers next-auth's browser code (json=true) in its own shape: the same place, the cookie kept", async () => {
    nextAuth.tokens = await signedIn();
    revocation = FAILURES[0]![1];
    vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    const res = await postSignOut({ json: "true" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ url: `${APP}${SIGN_OUT_FAILED_PATH}` });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  it("deletes the cookie when the issuer has no revocation endpoint to ask (said at start and at each sign-out)", async () => {
    discovery = ({ revocation_endpoint: _dropped, ...meta }) => meta;
    nextAuth.tokens = await signedIn();
    const warn = vi.spyOn(logger, "warn").mockImplementation(() => undefined);
    const res = await postSignOut();
    expect(res.headers.get("location")).toBe(`${APP}${SIGNED_OUT_PATH}`);
    expect(res.headers.getSetCookie()).toEqual([DELETION]);
    expect(warn).toHaveBeenCalledWith({ event: "logout.revoke_unsupported" }, "sign-out could not revoke: the issuer has no revocation endpoint");
  });

  it("deletes the cookie when the issuer says the token had already ended (invalid_token)", async () => {
    nextAuth.tokens = await signedIn();
    revocation = () => Promise.resolve(Response.json({ error: "invalid_token" }, { status: 400 }));
    vi.spyOn(logger, "info").mockImplementation(() => undefined);
    const res = await postSignOut();
    expect(res.headers.get("location")).toBe(`${APP}${SIGNED_OUT_PATH}`);
    expect(res.headers.getSetCookie()).toEqual([DELETION]);
  });

  it("deletes the cookie of a session without a refresh token: there is nothing to revoke", async () => {
    nextAuth.tokens = undefined;
    revocation = FAILURES[0]![1];
    const res = await postSignOut();
    expect(res.headers.get("location")).toBe(`${APP}${SIGNED_OUT_PATH}`);
    expect(res.headers.getSetCookie()).toEqual([DELETION]);
  });
});
