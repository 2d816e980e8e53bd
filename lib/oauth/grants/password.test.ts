import { parseOptions } from "@node-rs/argon2";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { atHash } from "@/lib/oauth/tokens/mint.ts";
import { dummyPasswordHash, PASSWORD_HASH_OPTIONS, passwordVerifier } from "@/lib/platform/passwords.ts";
import { addClient, ALICE, basic, expectNoStore, getJwks, ISSUER, postToken, SPA } from "@/lib/testing/oauth.ts";
import { expectSameTiming, timed } from "@/lib/testing/timing.ts";

let jwks: ReturnType<typeof createLocalJWKSet>;
let workspaceId: string;

beforeAll(async () => {
  jwks = createLocalJWKSet((await (await getJwks()).json()) as JSONWebKeySet);
  workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default", tenant: { slug: "demo" } } })).id;
});

afterEach(() => {
  vi.restoreAllMocks();
});

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
      [
        "amr",
        "at_hash",
        "aud",
        "auth_time",
        "azp",
        "email",
        "email_verified",
        "exp",
        "iat",
        "iss",
        "jti",
        "name",
        "refresh_token_expires_at",
        "sid",
        "sub",
      ].sort(),
    );
    expect(payload).toMatchObject({
      sub: access.payload.sub,
      aud: "demo-spa",
      azp: "demo-spa",
      amr: ["pwd"],
      at_hash: atHash(body.access_token, "ES256"),
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

describe("password grant: no user enumeration by timing", () => {
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
    // and only what the username changes is measured.
    let n = 0;
    const time = async (username: string) => {
      const from = { [PEER_HEADER]: peerHeaderValue(`198.18.${Math.floor(n / 250)}.${n++ % 250}`) };
      return timed(async () => {
        const res = await postToken({ grant_type: "password", ...SPA, username, password: "not-the-password" }, from);
        expect(res.status).toBe(400);
      });
    };
    await expectSameTiming(
      () => time("alice"),
      (i) => time(`nobody-${i}`),
    );
  });
});
