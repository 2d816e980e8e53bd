import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CredentialsConfig } from "next-auth/providers/credentials";
import { db } from "@/lib/platform/db.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { settings } from "@/lib/platform/env.ts";
import { logger } from "@/lib/platform/logger.ts";
import { hashClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { routes, type WorkspaceRoute } from "@/lib/oauth/routes.ts";
import { ISSUER, routeContext } from "@/lib/testing/oauth.ts";
import { authOptions } from "@/lib/login/auth-options.ts";
import {
  checkLoginSetup,
  operatorHint,
  resetSelfCheckForTests,
  SELF_CHECK_USER_AGENT,
  selfCheckAfterFailure,
  selfCheckAtStart,
} from "@/lib/login/self-check.ts";
import { setFetchForTests } from "@/lib/login/token-client.ts";

// The self-check speaks HTTP only; its requests are served in-process by the real route handlers
// of whichever workspace the path names.
const ROUTES: Record<string, WorkspaceRoute> = {
  ".well-known/openid-configuration": routes.discovery,
  ".well-known/jwks.json": routes.jwks,
  "oauth2/token": routes.token,
};

type Tamper = (url: URL, respond: () => Promise<Response>) => Promise<Response>;
let tamper: Tamper | undefined;
const requests: Request[] = [];

const inProcessFetch = (async (input: string | URL | Request, init?: RequestInit) => {
  const request = new Request(input, init);
  requests.push(request.clone());
  const url = new URL(request.url);
  const [, tenant = "", workspace = "", ...rest] = url.pathname.split("/");
  const route = ROUTES[rest.join("/")];
  const respond = async () =>
    route ? route[request.method as "GET" | "POST"](request, routeContext(tenant, workspace)) : new Response("not found", { status: 404 });
  return tamper ? tamper(url, respond) : respond();
}) as typeof fetch;

const RIGHT = { issuer: new URL(ISSUER), clientId: "demo-web", clientSecret: "demo-web-secret" };

beforeEach(() => {
  tamper = undefined;
  requests.length = 0;
  setFetchForTests(inProcessFetch);
  resetSelfCheckForTests();
});
afterEach(() => {
  setFetchForTests(undefined);
  vi.restoreAllMocks();
});

const tokenRequests = () => requests.filter((r) => r.url.endsWith("/oauth2/token"));
const clientFailures = () => db().failedLogin.count({ where: { kind: "client" } });

describe("checkLoginSetup", () => {
  it("passes when the issuer answers discovery and the client authenticates: one audit row, no failure counted", async () => {
    const rowsBefore = await db().auditEvent.count();
    const failuresBefore = await db().failedLogin.count();
    expect(await checkLoginSetup(RIGHT)).toEqual({ ok: true, issuer: ISSUER });
    // The probe is a refresh-token grant with a token nobody was issued, as demo-web.
    const [probe] = tokenRequests();
    const body = Object.fromEntries(new URLSearchParams(await probe!.text()));
    expect(body).toEqual({ grant_type: "refresh_token", refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(probe!.headers.get("authorization")).toMatch(/^Basic /);
    await flushAudit();
    const rows = await db().auditEvent.findMany({ orderBy: { createdAt: "asc" } });
    expect(rows.slice(rowsBefore)).toEqual([
      expect.objectContaining({
        event: "token.refresh_token",
        outcome: "failure",
        reason: "unknown refresh token",
        clientId: "demo-web",
        userAgent: SELF_CHECK_USER_AGENT,
        count: 1,
      }),
    ]);
    expect(await db().failedLogin.count()).toBe(failuresBefore);
  });

  it.each([
    [
      "an issuer whose workspace does not exist",
      `${ISSUER.replace("/default", "/nowhere")}`,
      ["npm run setup", "OAUTH_ISSUER"],
      "has no discovery document (404)",
    ],
    [
      "an issuer spelled otherwise than the server's",
      ISSUER.replace("localhost", "127.0.0.1"),
      ["OAUTH_ISSUER"],
      `is not the issuer its discovery document names ("${ISSUER}")`,
    ],
    ["an http issuer off localhost", "http://login.example.com/demo/default", ["OAUTH_ISSUER"], "must be an https URL (http only for localhost)"],
  ])("fails discovery for %s, naming what to fix", async (_label, issuer, culprits, says) => {
    const result = await checkLoginSetup({ ...RIGHT, issuer: new URL(issuer) });
    expect(result).toMatchObject({ ok: false, step: "discovery", culprits, transient: false });
    expect(result.ok || result.message).toContain(says);
    expect(result.ok || result.message).toContain(`OAUTH_ISSUER=${issuer}`);
    expect(tokenRequests()).toHaveLength(0);
  });

  it("reports an issuer it cannot reach as a transient failure of OAUTH_ISSUER", async () => {
    tamper = async () => {
      throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:3000") });
    };
    const result = await checkLoginSetup(RIGHT);
    expect(result).toMatchObject({ ok: false, step: "discovery", culprits: ["OAUTH_ISSUER"], transient: true });
    expect(result.ok || result.message).toContain("cannot be reached (fetch failed: connect ECONNREFUSED 127.0.0.1:3000)");
  });

  it("reports a 503 at discovery as transient, naming the status", async () => {
    tamper = async () => Response.json({ status: "not_ready" }, { status: 503 });
    const result = await checkLoginSetup(RIGHT);
    expect(result).toMatchObject({ ok: false, step: "discovery", transient: true });
    expect(result.ok || result.message).toContain("with HTTP 503");
  });

  it.each<[string, { clientId?: string; clientSecret?: string }, number]>([
    ["a wrong LOGIN_CLIENT_SECRET", { clientSecret: "not-demo-web-secret" }, 1],
    // Counted as a known client's would be: a lockout tells no client ids.
    ["an unknown LOGIN_CLIENT_ID", { clientId: "nobody" }, 1],
    // A secret for a client that registered no secret method: counted as for an unknown id.
    ["a public client as LOGIN_CLIENT_ID", { clientId: "demo-spa" }, 1],
  ])("names the client's settings and `npm run setup` for %s (invalid_client)", async (_label, change, counted) => {
    const before = await clientFailures();
    const result = await checkLoginSetup({ ...RIGHT, ...change });
    expect(result).toMatchObject({ ok: false, step: "client", culprits: ["LOGIN_CLIENT_SECRET", "LOGIN_CLIENT_ID", "npm run setup"], transient: false });
    expect(result.ok || result.message).toContain(
      `the issuer refused the login app's client (invalid_client): LOGIN_CLIENT_ID=${change.clientId ?? "demo-web"}`,
    );
    expect(result.ok || result.message).toContain("Run `npm run setup`");
    // The secret itself never reaches the log.
    expect(result.ok || result.message).not.toContain(change.clientSecret ?? RIGHT.clientSecret);
    // A wrong secret counts once, like one wrong sign-in of the client: no more.
    expect((await clientFailures()) - before).toBe(counted);
  });

  it("names LOGIN_CLIENT_ID when the client may not use the refresh_token grant", async () => {
    const workspace = await db().workspace.findFirstOrThrow({ where: { tenant: { slug: "demo" }, slug: "default" } });
    await db().client.create({
      data: {
        workspaceId: workspace.id,
        clientId: "password-only",
        name: "x",
        secretHash: hashClientSecret("password-only-secret"),
        authMethods: "client_secret_basic",
        grantTypes: "password",
        scopes: "openid",
      },
    });
    const result = await checkLoginSetup({ ...RIGHT, clientId: "password-only", clientSecret: "password-only-secret" });
    expect(result).toMatchObject({ ok: false, step: "client", culprits: ["LOGIN_CLIENT_ID"] });
    expect(result.ok || result.message).toContain("LOGIN_CLIENT_ID=password-only is not allowed the refresh_token grant");
    expect(result.ok || result.message).toContain("--grants password,refresh_token");
  });

  it("says the client is locked out, and for how long, once failed secrets reached the limit", async () => {
    vi.spyOn(settings(), "LOCKOUT_USER_IP_LIMIT", "get").mockReturnValue(2);
    const wrong = { ...RIGHT, clientSecret: "not-demo-web-secret" };
    // Earlier tests' wrong secrets came from the same in-process address: at most two more reach the limit.
    for (let i = 0; i < 2; i++) await checkLoginSetup(wrong);
    const result = await checkLoginSetup(wrong);
    expect(result).toMatchObject({ ok: false, step: "client", culprits: ["LOGIN_CLIENT_SECRET"], transient: false });
    expect(result.ok || result.message).toMatch(
      /^LOGIN_CLIENT_ID=demo-web is locked out at the issuer from this server's address after failed client secrets \(for \d+ s more\)/,
    );
  });
});

describe("selfCheckAtStart", () => {
  it("tries a transient failure again, and logs the outcome once", async () => {
    let refused = 2;
    tamper = async (url, respond) => {
      if (url.pathname.endsWith("openid-configuration") && refused-- > 0) throw new TypeError("fetch failed");
      return respond();
    };
    const info = vi.spyOn(logger, "info").mockImplementation(() => undefined);
    expect(await selfCheckAtStart({ target: RIGHT, delayMs: 0 })).toEqual({ ok: true, issuer: ISSUER });
    expect(requests.filter((r) => r.url.endsWith("openid-configuration"))).toHaveLength(3);
    expect(info.mock.calls.filter(([o]) => (o as { event?: string }).event === "login.self_check")).toEqual([
      [{ event: "login.self_check", when: "start", issuer: ISSUER }, "login app self-check passed"],
    ]);
  });

  it("does not try a wrong setting again, and logs an error naming it", async () => {
    const error = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    const result = await selfCheckAtStart({ target: { ...RIGHT, clientId: "nobody" }, delayMs: 0 });
    expect(tokenRequests()).toHaveLength(1);
    expect(error.mock.calls).toEqual([
      [
        { event: "login.self_check_failed", when: "start", step: "client", culprits: ["LOGIN_CLIENT_SECRET", "LOGIN_CLIENT_ID", "npm run setup"] },
        `login app self-check failed: ${result.ok || result.message}`,
      ],
    ]);
  });

  it("gives up on an issuer that stays unreachable after its attempts", async () => {
    tamper = async () => {
      throw new TypeError("fetch failed");
    };
    vi.spyOn(logger, "error").mockImplementation(() => undefined);
    expect(await selfCheckAtStart({ target: RIGHT, attempts: 3, delayMs: 0 })).toMatchObject({ ok: false, step: "discovery", transient: true });
    expect(requests).toHaveLength(3);
  });
});

describe("selfCheckAfterFailure", () => {
  it("checks again once per process", async () => {
    vi.spyOn(logger, "info").mockImplementation(() => undefined);
    await selfCheckAtStart({ target: RIGHT, delayMs: 0 });
    requests.length = 0;
    const [a, b] = await Promise.all([selfCheckAfterFailure(RIGHT), selfCheckAfterFailure(RIGHT)]);
    expect(a).toBe(b);
    await selfCheckAfterFailure(RIGHT);
    expect(tokenRequests()).toHaveLength(1);
  });

  it("does not probe a client the start check found refused again (each wrong secret counts toward its lockout)", async () => {
    const error = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    const wrong = { ...RIGHT, clientSecret: "not-demo-web-secret" };
    const before = await clientFailures();
    await selfCheckAtStart({ target: wrong, delayMs: 0 });
    const again = await selfCheckAfterFailure(wrong);
    expect(again).toMatchObject({ ok: false, step: "client" });
    expect(tokenRequests()).toHaveLength(1);
    expect((await clientFailures()) - before).toBe(1);
    expect(error.mock.calls.map(([o]) => (o as { when: string }).when)).toEqual(["start", "sign-in failure"]);
  });

  it("runs on the login app's first refused sign-in and logs which setting is wrong", async () => {
    vi.spyOn(settings(), "LOGIN_CLIENT_ID", "get").mockReturnValue("nobody");
    const error = vi.spyOn(logger, "error").mockImplementation(() => undefined);
    vi.spyOn(logger, "info").mockImplementation(() => undefined);
    const provider = authOptions().providers[0] as CredentialsConfig;
    const request = { method: "POST", headers: {}, body: {}, query: {} };
    for (let i = 0; i < 2; i++) {
      await expect(provider.options.authorize({ username: "alice", password: "alice-password-1" }, request)).rejects.toThrow("refused");
    }
    // Two sign-ins and one probe: the second failure does not check again.
    const grants = await Promise.all(tokenRequests().map(async (r) => new URLSearchParams(await r.text()).get("grant_type")));
    expect(grants).toEqual(["password", "refresh_token", "password"]);
    expect(error.mock.calls).toEqual([
      [
        { event: "login.self_check_failed", when: "sign-in failure", step: "client", culprits: ["LOGIN_CLIENT_SECRET", "LOGIN_CLIENT_ID", "npm run setup"] },
        expect.stringContaining("login app self-check failed: the issuer refused the login app's client (invalid_client): LOGIN_CLIENT_ID=nobody"),
      ],
    ]);
  });
});

describe("operatorHint: what the login page tells an operator", () => {
  const failOnce = async () => {
    vi.spyOn(logger, "error").mockImplementation(() => undefined);
    await selfCheckAtStart({ target: { ...RIGHT, clientId: "nobody" }, delayMs: 0 });
  };

  it("shows the failed check in development", async () => {
    vi.spyOn(settings(), "NODE_ENV", "get").mockReturnValue("development");
    await failOnce();
    expect(operatorHint()).toMatch(/^Login app self-check failed: the issuer refused the login app's client \(invalid_client\): LOGIN_CLIENT_ID=nobody/);
  });

  it.each(["production", "test"] as const)("never shows anything when NODE_ENV=%s", async (env) => {
    vi.spyOn(settings(), "NODE_ENV", "get").mockReturnValue(env);
    await failOnce();
    expect(operatorHint()).toBeUndefined();
  });

  it("shows nothing when the check passed", async () => {
    vi.spyOn(settings(), "NODE_ENV", "get").mockReturnValue("development");
    vi.spyOn(logger, "info").mockImplementation(() => undefined);
    await selfCheckAtStart({ target: RIGHT, delayMs: 0 });
    expect(operatorHint()).toBeUndefined();
  });
});
