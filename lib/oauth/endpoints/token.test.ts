import { decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { logger } from "@/lib/platform/logger.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";
import { ALICE, basic, expectNoStore, getJwks, ISSUER, postRevoke, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

const BASIC_CHALLENGE = `Basic realm="${ISSUER}"`;
const backend = { Authorization: basic("demo-backend", "demo-backend-secret") };
const good = { grant_type: "password", ...ALICE };

describe("token endpoint: every error, with its status and headers", () => {
  it.each<[string, string | Record<string, string>, Record<string, string>, number, string, string | null]>([
    // parse
    ["a JSON body", JSON.stringify(good), { "Content-Type": "application/json" }, 400, "invalid_request", null],
    ["a parameter sent twice", "grant_type=password&grant_type=password&client_id=demo-spa&username=alice&password=x", {}, 400, "invalid_request", null],
    // authenticate the client
    ["no client authentication", good, {}, 401, "invalid_client", null],
    ["an unknown client (body)", { ...good, client_id: "nobody" }, {}, 401, "invalid_client", null],
    ["an unknown client (Basic)", good, { Authorization: basic("nobody", "x") }, 401, "invalid_client", BASIC_CHALLENGE],
    ["a wrong secret (Basic)", good, { Authorization: basic("demo-backend", "wrong") }, 401, "invalid_client", BASIC_CHALLENGE],
    ["a wrong secret (post)", { ...good, client_id: "demo-backend", client_secret: "wrong" }, {}, 401, "invalid_client", null],
    ["a confidential client without its secret", { ...good, client_id: "demo-backend" }, {}, 401, "invalid_client", null],
    ["a public client sending a secret", { ...good, client_id: "demo-spa", client_secret: "x" }, {}, 401, "invalid_client", null],
    ["a method the client did not register", { ...good, client_id: "demo-service", client_secret: "demo-service-secret" }, {}, 401, "invalid_client", null],
    ["malformed Basic credentials", good, { Authorization: "Basic %%%" }, 401, "invalid_client", BASIC_CHALLENGE],
    ["Basic plus a body secret", { ...good, client_secret: "demo-backend-secret" }, backend, 400, "invalid_request", null],
    [
      "malformed Basic credentials plus a body secret",
      { ...good, client_secret: "demo-backend-secret" },
      { Authorization: "Basic %%%" },
      400,
      "invalid_request",
      null,
    ],
    [
      "a body secret plus a client assertion, no client_id",
      {
        grant_type: "password",
        ...ALICE,
        client_secret: "x",
        client_assertion: "a.b.c",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      },
      {},
      400,
      "invalid_request",
      null,
    ],
    // grant type
    ["no grant_type", { ...SPA, ...ALICE }, {}, 400, "invalid_request", null],
    ["an unknown grant_type", { ...good, ...SPA, grant_type: "authorization_code" }, {}, 400, "unsupported_grant_type", null],
    ["grant_type __proto__", { ...good, ...SPA, grant_type: "__proto__" }, {}, 400, "unsupported_grant_type", null],
    ["a grant_type in the wrong case", { ...good, ...SPA, grant_type: "Password" }, {}, 400, "unsupported_grant_type", null],
    ["a client not allowed the grant", good, { Authorization: basic("demo-service", "demo-service-secret") }, 400, "unauthorized_client", null],
    // username and password
    ["no username", { grant_type: "password", ...SPA, password: "x" }, {}, 400, "invalid_request", null],
    ["no password", { grant_type: "password", ...SPA, username: "alice" }, {}, 400, "invalid_request", null],
    ["an empty password", { grant_type: "password", ...SPA, username: "alice", password: "" }, {}, 400, "invalid_request", null],
    ["a username over 255 characters", { ...good, ...SPA, username: "a".repeat(256) }, {}, 400, "invalid_request", null],
    ["a password over 4096 characters", { ...good, ...SPA, password: "a".repeat(4097) }, {}, 400, "invalid_request", null],
    // scope
    ["a scope the client may not have", { ...good, ...SPA, scope: "openid introspect_tokens" }, {}, 400, "invalid_scope", null],
    ["a scope in the wrong case", { ...good, ...SPA, scope: "OPENID" }, {}, 400, "invalid_scope", null],
    // credentials
    ["a wrong password", { ...good, ...SPA, password: "wrong" }, {}, 400, "invalid_grant", null],
  ])("%s", async (_name, body, headers, status, error, challenge) => {
    const res = await postToken(body, headers);
    expect(res.status).toBe(status);
    expectNoStore(res);
    expect(res.headers.get("www-authenticate")).toBe(challenge);
    const json = await res.json();
    expect(json.error).toBe(error);
    expect(Object.keys(json).every((k) => k === "error" || k === "error_description")).toBe(true);
    expect(json.error_description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
  });

  it.each(["GET", "PUT", "DELETE", "PATCH"])("%s is 405 with Allow: POST", async (method) => {
    const { routes } = await import("@/lib/oauth/routes.ts");
    const { routeContext, TOKEN_URL } = await import("@/lib/testing/oauth.ts");
    const res = await routes.token[method as "GET"]!(new Request(TOKEN_URL, { method }), routeContext());
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expectNoStore(res);
    expect((await res.json()).error).toBe("invalid_request");
  });

  it("answers an unknown tenant or workspace with 404 JSON", async () => {
    for (const [tenant, workspace] of [
      ["nope", "default"],
      ["demo", "nope"],
      ["DEMO", "default"],
      ["../x", "y"],
    ] as const) {
      const res = await postToken({ ...good, ...SPA }, {}, { tenant, workspace });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: "not_found", error_description: "no such tenant or workspace" });
    }
  });

  it("refuses an oversized body with 413", async () => {
    const res = await postToken(`grant_type=password&client_id=demo-spa&username=alice&password=${"a".repeat(70_000)}`);
    expect(res.status).toBe(413);
    expect((await res.json()).error).toBe("invalid_request");
  });

  it("answers wrong password, unknown user and disabled user with the same body", async () => {
    const bodies = await Promise.all(
      [
        { username: "alice", password: "wrong" },
        { username: "nobody", password: "alice-password-1" },
        { username: "carol", password: "carol-password-1" },
      ].map(async (creds) => {
        const res = await postToken({ grant_type: "password", ...SPA, ...creds });
        expect(res.status).toBe(400);
        return res.text();
      }),
    );
    expect(bodies[0]).toBe('{"error":"invalid_grant","error_description":"invalid username or password"}');
    expect(new Set(bodies).size).toBe(1);
  });

  it("treats usernames as case-sensitive", async () => {
    const res = await postToken({ ...good, ...SPA, username: "Alice" });
    expect((await res.json()).error).toBe("invalid_grant");
  });
});

describe("token endpoint: the order of the checks", () => {
  it.each<[string, Record<string, string>, Record<string, string>, string]>([
    ["client authentication before grant_type", { grant_type: "bogus", client_id: "nobody" }, {}, "invalid_client"],
    [
      "grant_type before the client's permission",
      { grant_type: "bogus" },
      { Authorization: basic("demo-service", "demo-service-secret") },
      "unsupported_grant_type",
    ],
    [
      "the client's permission before username and password",
      { grant_type: "password" },
      { Authorization: basic("demo-service", "demo-service-secret") },
      "unauthorized_client",
    ],
    ["username and password before scope", { grant_type: "password", ...SPA, username: "alice", scope: "admin" }, {}, "invalid_request"],
    ["scope before the credentials", { grant_type: "password", ...SPA, username: "alice", password: "wrong", scope: "admin" }, {}, "invalid_scope"],
    ["the credentials before the user's state", { grant_type: "password", ...SPA, username: "carol", password: "wrong" }, {}, "invalid_grant"],
  ])("%s", async (_name, body, headers, error) => {
    const verify = vi.spyOn(passwordVerifier, "verify");
    const res = await postToken(body, headers);
    expect((await res.json()).error).toBe(error);
    expect(verify).toHaveBeenCalledTimes(error === "invalid_grant" ? 1 : 0);
  });
});

describe("token endpoint: faults", () => {
  it("answers an unexpected fault with a bare 500 server_error and a request id, no internals", async () => {
    vi.spyOn(passwordVerifier, "verify").mockRejectedValue(new Error("database file /secret/path is corrupt"));
    const res = await postToken({ grant_type: "password", ...SPA, ...ALICE });
    expect(res.status).toBe(500);
    expectNoStore(res);
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "server_error", error_description: "the server could not handle the request" });
    expect(text).not.toContain("secret");
  });

  it("never echoes a password or a client secret", async () => {
    const responses = await Promise.all([
      postToken({ grant_type: "password", ...SPA, username: "alice", password: "hunter2-unique" }),
      postToken({ grant_type: "password", client_id: "demo-backend", client_secret: "secret-unique-42", ...ALICE }),
      postToken({ grant_type: "password", ...SPA, username: "alice", password: "hunter2-unique", scope: "admin" }),
    ]);
    for (const res of responses) {
      const text = await res.text();
      expect(text).not.toContain("hunter2-unique");
      expect(text).not.toContain("secret-unique-42");
    }
  });
});

it("decodes the header the way RFC 9068 asks (typ at+jwt, kid of a published key)", async () => {
  const body = await (await postToken({ grant_type: "password", ...SPA, ...ALICE })).json();
  const header = decodeProtectedHeader(body.access_token);
  const published = (await (await getJwks()).json()).keys.map((k: { kid: string }) => k.kid);
  expect(published).toContain(header.kid);
});

describe("the request's child logger (README, Performance: made only when something is logged)", () => {
  it("is not made by a password grant, a refresh or a revocation that log nothing", async () => {
    const tokens = await signIn();
    const child = vi.spyOn(logger, "child");
    expect((await postToken({ grant_type: "password", ...SPA, ...ALICE })).status).toBe(200);
    const refreshed = await postToken({ grant_type: "refresh_token", ...SPA, refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    expect((await postRevoke({ ...SPA, token: "not-a-token-of-ours" })).status).toBe(200);
    expect(child).not.toHaveBeenCalled();
  });

  it("is made, with the request id the answer carries, by a grant or a revocation that logs", async () => {
    const tokens = await signIn();
    expect((await postToken({ grant_type: "refresh_token", ...SPA, refresh_token: tokens.refresh_token })).status).toBe(200);
    const child = vi.spyOn(logger, "child");
    // Reuse of the consumed token: the grant logs token.reuse_detected.
    const reused = await postToken({ grant_type: "refresh_token", ...SPA, refresh_token: tokens.refresh_token });
    expect(reused.status).toBe(400);
    expect(child).toHaveBeenCalledWith({ requestId: reused.headers.get("x-request-id") });
    child.mockClear();
    const fresh = await signIn();
    const revoked = await postRevoke({ ...SPA, token: fresh.refresh_token });
    expect(revoked.status).toBe(200);
    expect(child).toHaveBeenCalledTimes(1);
    expect(child).toHaveBeenCalledWith({ requestId: revoked.headers.get("x-request-id") });
  });
});
