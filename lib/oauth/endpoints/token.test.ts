import { parseOptions } from "@node-rs/argon2";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { hashClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { atHash } from "@/lib/oauth/tokens/mint.ts";
import { dummyPasswordHash, PASSWORD_HASH_OPTIONS, passwordVerifier } from "@/lib/platform/passwords.ts";
import { ALICE, basic, getJwks, ISSUER, postToken, SPA } from "@/lib/testing/oauth.ts";

let jwks: ReturnType<typeof createLocalJWKSet>;
let workspaceId: string;

beforeAll(async () => {
  jwks = createLocalJWKSet((await (await getJwks()).json()) as JSONWebKeySet);
  workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default", tenant: { slug: "demo" } } })).id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function addClient(clientId: string, fields: Partial<{ secret: string; authMethods: string; grantTypes: string; scopes: string; audiences: string; accessTokenTtl: number; idTokenTtl: number; defaultScopes: string }>) {
  const { secret, ...rest } = fields;
  await db().client.create({
    data: {
      workspaceId,
      clientId,
      name: clientId,
      secretHash: secret ? hashClientSecret(secret) : null,
      authMethods: "client_secret_basic",
      grantTypes: "password",
      scopes: "openid profile email",
      ...rest,
    },
  });
}

function expectNoStore(res: Response) {
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("pragma")).toBe("no-cache");
  expect(res.headers.get("content-type")).toBe("application/json;charset=UTF-8");
}

describe("password grant: success", () => {
  it("answers a public client (none) like the seed's sample", async () => {
    const res = await postToken({ grant_type: "password", ...SPA, ...ALICE });
    expect(res.status).toBe(200);
    expectNoStore(res);
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"]);
    expect(body).toMatchObject({ token_type: "bearer", expires_in: 3600, scope: "email openid profile" });
  });

  it("issues an RFC 9068 access token, verifiable with the published JWKS", async () => {
    const body = await (await postToken({ grant_type: "password", ...SPA, ...ALICE })).json();
    const alice = await db().user.findFirstOrThrow({ where: { username: "alice" } });
    const workspace = await db().workspace.findUniqueOrThrow({ where: { id: workspaceId } });
    const { payload, protectedHeader } = await jwtVerify(body.access_token, jwks, {
      issuer: ISSUER,
      audience: "demo-spa",
      typ: "at+jwt",
      algorithms: ["ES256"],
    });
    expect(protectedHeader).toEqual({ alg: "ES256", typ: "at+jwt", kid: expect.any(String) });
    expect(Object.keys(payload).sort()).toEqual(
      ["aid", "amr", "aud", "client_id", "exp", "iat", "idp", "iss", "jti", "nbf", "scope", "scp", "sid", "st", "sub", "tid"].sort(),
    );
    expect(payload).toMatchObject({
      iss: ISSUER,
      sub: alice.id,
      aud: ["demo-spa"],
      client_id: "demo-spa",
      scp: ["email", "openid", "profile"],
      scope: "email openid profile",
      tid: "demo",
      aid: "default",
      idp: workspace.identityPoolId,
      amr: ["pwd"],
      st: "public",
    });
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp! - payload.iat!).toBe(body.expires_in);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(5);
  });

  it("issues an ID token with at_hash, auth_time and the claims of the granted scope", async () => {
    const body = await (await postToken({ grant_type: "password", ...SPA, ...ALICE })).json();
    const { payload, protectedHeader } = await jwtVerify(body.id_token, jwks, { issuer: ISSUER, audience: "demo-spa", algorithms: ["ES256"] });
    const access = await jwtVerify(body.access_token, jwks);
    expect(protectedHeader.alg).toBe("ES256");
    expect(Object.keys(payload).sort()).toEqual(
      ["amr", "at_hash", "aud", "auth_time", "azp", "email", "email_verified", "exp", "iat", "iss", "jti", "name", "refresh_token_expires_at", "sid", "sub"].sort(),
    );
    expect(payload).toMatchObject({
      sub: access.payload.sub,
      aud: "demo-spa",
      azp: "demo-spa",
      amr: ["pwd"],
      at_hash: atHash(body.access_token),
      name: "Alice Example",
      email: "alice@example.com",
      email_verified: true,
    });
    expect(payload.auth_time).toBe(payload.iat);
    expect(payload.jti).not.toBe(access.payload.jti);
  });

  it("gives every token a new jti", async () => {
    const a = await (await postToken({ grant_type: "password", ...SPA, ...ALICE })).json();
    const b = await (await postToken({ grant_type: "password", ...SPA, ...ALICE })).json();
    expect((await jwtVerify(a.access_token, jwks)).payload.jti).not.toBe((await jwtVerify(b.access_token, jwks)).payload.jti);
  });

  it.each([
    ["openid", "openid", []],
    ["openid email", "email openid", ["email", "email_verified"]],
    ["profile openid", "openid profile", ["name"]],
  ])("scope %j: ID token claims follow the granted scope", async (scope, granted, claims) => {
    const body = await (await postToken({ grant_type: "password", ...SPA, ...ALICE, scope })).json();
    expect(body.scope).toBe(granted);
    const { payload } = await jwtVerify(body.id_token, jwks);
    for (const claim of ["name", "email", "email_verified"]) expect(claim in payload).toBe(claims.includes(claim));
  });

  it("issues no ID token without openid", async () => {
    const res = await postToken({ grant_type: "password", ...SPA, ...ALICE, scope: "profile email" });
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body.scope).toBe("email profile");
    expect(body).not.toHaveProperty("id_token");
  });

  it.each([
    ["client_secret_basic", { Authorization: basic("demo-backend", "demo-backend-secret") }, {}],
    ["client_secret_post", {}, { client_id: "demo-backend", client_secret: "demo-backend-secret" }],
  ])("authenticates a confidential client with %s", async (_m, headers, fields) => {
    const res = await postToken({ grant_type: "password", ...ALICE, ...fields, scope: "openid introspect_tokens" }, headers);
    expect(res.status).toBe(200);
    expect((await res.json()).scope).toBe("introspect_tokens openid");
  });

  it("accepts a secret containing + % : over Basic, form-encoded per §2.3.1", async () => {
    await addClient("odd-secret", { secret: "s+e%c:r=t é" });
    const res = await postToken({ grant_type: "password", ...ALICE }, { Authorization: basic("odd-secret", "s+e%c:r=t é") });
    expect(res.status).toBe(200);
  });

  it("ignores unknown parameters", async () => {
    const res = await postToken({ grant_type: "password", ...SPA, ...ALICE, nonce: "x", foo: "bar" });
    expect(res.status).toBe(200);
  });

  it("adds the client's audiences and uses its token lifetimes", async () => {
    await addClient("aud-client", { secret: "aud-client-secret", audiences: "https://api.example.com urn:orders", accessTokenTtl: 120, idTokenTtl: 60 });
    const body = await (await postToken({ grant_type: "password", ...ALICE }, { Authorization: basic("aud-client", "aud-client-secret") })).json();
    const access = await jwtVerify(body.access_token, jwks);
    const id = await jwtVerify(body.id_token, jwks);
    expect(access.payload.aud).toEqual(["aud-client", "https://api.example.com", "urn:orders"]);
    expect(body.expires_in).toBe(120);
    expect(id.payload.exp! - id.payload.iat!).toBe(60);
    expect(id.payload.aud).toBe("aud-client");
  });

  it("uses the client's own default scopes when it asks for none", async () => {
    await addClient("defaults-client", { secret: "defaults-client-secret", defaultScopes: "openid" });
    const body = await (await postToken({ grant_type: "password", ...ALICE }, { Authorization: basic("defaults-client", "defaults-client-secret") })).json();
    expect(body.scope).toBe("openid");
  });
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
    ["a password over 1024 characters", { ...good, ...SPA, password: "a".repeat(1025) }, {}, 400, "invalid_request", null],
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
    for (const [tenant, workspace] of [["nope", "default"], ["demo", "nope"], ["DEMO", "default"], ["../x", "y"]] as const) {
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
    ["grant_type before the client's permission", { grant_type: "bogus" }, { Authorization: basic("demo-service", "demo-service-secret") }, "unsupported_grant_type"],
    ["the client's permission before username and password", { grant_type: "password" }, { Authorization: basic("demo-service", "demo-service-secret") }, "unauthorized_client"],
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

describe("token endpoint: no user enumeration by timing", () => {
  it("verifies exactly one hash for an unknown user: a dummy with the real parameters", async () => {
    const verify = vi.spyOn(passwordVerifier, "verify");
    await postToken({ grant_type: "password", ...SPA, username: "nobody", password: "x" });
    expect(verify).toHaveBeenCalledTimes(1);
    const [hash] = verify.mock.calls[0]!;
    expect(hash).toBe(await dummyPasswordHash());
    expect(parseOptions(hash)).toMatchObject({ algorithm: 2, ...PASSWORD_HASH_OPTIONS });
    const alice = await db().user.findFirstOrThrow({ where: { username: "alice" } });
    expect(parseOptions(alice.passwordHash)).toMatchObject({ algorithm: 2, ...PASSWORD_HASH_OPTIONS });
  });

  it("verifies exactly one hash for a wrong password, and one for a disabled user", async () => {
    const verify = vi.spyOn(passwordVerifier, "verify");
    await postToken({ grant_type: "password", ...SPA, username: "alice", password: "x" });
    await postToken({ grant_type: "password", ...SPA, username: "carol", password: "carol-password-1" });
    expect(verify).toHaveBeenCalledTimes(2);
  });

  it("takes as long for an unknown user as for a wrong password (medians of 30 within 25%)", async () => {
    // Each try from its own address, so that every try reads the same (empty) failure history
    // and only what the username changes is measured. The two are timed in pairs, back to back
    // and in alternating order, so that both halves of a pair share the machine's load (other
    // suites run beside this one); the median of the pairs' ratios must be within 25% of 1.
    let n = 0;
    const time = async (username: string) => {
      const from = { [PEER_HEADER]: peerHeaderValue(`198.18.${Math.floor(n / 250)}.${n++ % 250}`) };
      const start = process.hrtime.bigint();
      const res = await postToken({ grant_type: "password", ...SPA, username, password: "not-the-password" }, from);
      expect(res.status).toBe(400);
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    await time("alice");
    await time("nobody");
    const ratios: number[] = [];
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 31; i++) {
      const [k, u] = i % 2 === 0 ? [await time("alice"), await time(`nobody-${i}`)] : ([await time(`nobody-${i}`), await time("alice")].reverse() as [number, number]);
      known.push(k);
      unknown.push(u);
      ratios.push(u / k);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    expect(median(ratios)).toBeGreaterThan(0.75);
    expect(median(ratios)).toBeLessThan(1.25);
    expect(median(unknown) / median(known)).toBeGreaterThan(0.6);
    expect(median(unknown) / median(known)).toBeLessThan(1.6);
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
