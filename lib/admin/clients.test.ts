import { refusal } from "@/lib/testing/admin.ts";
import { describe, expect, it } from "vitest";
import { addClient, listClients, rotateClientSecret, setClient, type NewClient } from "@/lib/admin/clients.ts";
import { NothingToChange } from "@/lib/admin/errors.ts";
import { findClient } from "@/lib/oauth/store/clients.ts";
import { db } from "@/lib/platform/db.ts";

const W = "demo/default";

const adminEvents = () => db().auditEvent.count({ where: { event: { startsWith: "admin." } } });
const base = { workspace: W, clientId: "refused", grants: ["password"], scopes: ["openid"] } satisfies NewClient;

describe("adding a client", () => {
  it.each<[string, Partial<NewClient>, string]>([
    ["a public client with client_credentials", { grants: ["client_credentials"], authMethods: ["none"] }, "A public client cannot use client_credentials"],
    [
      "a public client trusted with addresses",
      { authMethods: ["none"], forwardsEndUserIp: true },
      "Only a confidential client can be trusted with its end users' addresses",
    ],
    [
      "none with a secret method",
      { authMethods: ["none", "client_secret_basic"] },
      "Invalid auth methods: none (a public client) cannot be combined with secrets",
    ],
    [
      "an unknown auth method",
      { authMethods: ["tls_client_auth"] },
      'Invalid auth methods: Invalid option: expected one of "client_secret_basic"|"client_secret_post"|"client_secret_jwt"|"private_key_jwt"|"none"',
    ],
    [
      "private_key_jwt without keys",
      { authMethods: ["private_key_jwt"] },
      "private_key_jwt needs the client's public keys (--jwks <file> or --jwks-uri <url>)",
    ],
    [
      "a private key in the JWKS",
      { authMethods: ["private_key_jwt"], jwks: { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y", d: "d" }] } },
      "Invalid JWKS: a key has a private member: register the public key only",
    ],
    [
      "an RSA key of over 4096 bits in the JWKS (costly to verify with)",
      { authMethods: ["private_key_jwt"], jwks: { keys: [{ kty: "RSA", n: Buffer.alloc(513, 0xc5).toString("base64url"), e: "AQAB" }] } },
      "Invalid JWKS: an RSA key may have at most 4096 bits",
    ],
    [
      "an RSA key with an exponent of 2^32 or more in the JWKS (costly to verify with)",
      { authMethods: ["private_key_jwt"], jwks: { keys: [{ kty: "RSA", n: Buffer.alloc(256, 0xc5).toString("base64url"), e: "AQAAAAE" }] } },
      "Invalid JWKS: an RSA exponent must be under 2^32 (65537, as every library makes it)",
    ],
    [
      "a symmetric key in the JWKS",
      { authMethods: ["private_key_jwt"], jwks: { keys: [{ kty: "oct", k: "c2VjcmV0" }] } },
      'Invalid JWKS: Invalid option: expected one of "EC"|"RSA"|"OKP"',
    ],
    [
      "two keys with one kid",
      {
        authMethods: ["private_key_jwt"],
        jwks: {
          keys: [
            { kty: "EC", kid: "a" },
            { kty: "EC", kid: "a" },
          ],
        },
      },
      "Invalid JWKS: two keys share a kid",
    ],
    [
      "an unknown grant",
      { grants: ["implicit"] },
      'Invalid grants: Invalid option: expected one of "password"|"refresh_token"|"client_credentials"|"http://auth0.com/oauth/grant-type/mfa-otp"|"http://auth0.com/oauth/grant-type/mfa-recovery-code"',
    ],
    ["no grant", { grants: [] }, "Invalid grants: Too small: expected array to have >=1 items"],
    ["a scope with a quote", { scopes: ['a"b'] }, "Invalid scopes: scopes are printable ASCII without spaces, quotes or backslashes"],
    ["an origin with a path", { origins: ["https://app.example/path"] }, "Invalid origins: an origin is scheme://host[:port], nothing more"],
    ["a client id with a space", { clientId: "my client" }, "Invalid client id: printable ASCII without spaces, at most 255 characters"],
    ["an existing client id", { clientId: "demo-spa" }, "Client demo-spa exists already"],
    [
      "a public client with a password reset page",
      { authMethods: ["none"], passwordResetUri: "https://app.example/reset" },
      "Only a confidential client can offer password recovery (a password reset URI)",
    ],
    [
      "a reset page with a fragment",
      { passwordResetUri: "https://app.example/reset#x" },
      "Invalid password reset URI: an absolute URL without credentials, fragment or token parameter",
    ],
    ["a relative reset page", { passwordResetUri: "/reset" }, "Invalid password reset URI: an absolute URL without credentials, fragment or token parameter"],
    ["an unknown workspace", { workspace: "nope/none" }, "No workspace nope/none"],
    ["a malformed workspace", { workspace: "Demo" }, 'Invalid workspace "Demo": write it tenant/workspace'],
  ])("refuses %s, writing nothing", async (_, input, message) => {
    const [clients, events] = [await db().client.count(), await adminEvents()];
    expect(await refusal(addClient({ ...base, ...input }))).toBe(message);
    expect([await db().client.count(), await adminEvents()]).toEqual([clients, events]);
  });

  it("stores the type: public with none and no secret, confidential with a secret stored only hashed", async () => {
    const pub = await addClient({ ...base, clientId: "new-public", authMethods: ["none"], grants: ["password", "refresh_token", "password"] });
    expect(pub).toEqual({ type: "public", secret: undefined });
    const conf = await addClient({ ...base, clientId: "new-confidential", grants: ["client_credentials"], audiences: ["reports-api"] });
    expect(conf).toMatchObject({ type: "confidential", secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });

    const rows = await db().client.findMany({ where: { clientId: { in: ["new-public", "new-confidential"] } }, orderBy: { clientId: "asc" } });
    expect(rows.map((r) => [r.clientId, r.type, r.secretHash === null, r.authMethods, r.grantTypes])).toEqual([
      ["new-confidential", "confidential", false, "client_secret_basic", "client_credentials"],
      ["new-public", "public", true, "none", "password refresh_token"],
    ]);
    expect(JSON.stringify(rows)).not.toContain(conf.secret);
    expect(JSON.stringify(await listClients(W))).not.toContain("sha256$");
    expect(await db().auditEvent.findFirst({ where: { event: "admin.client.add", reason: "new-public" } })).toMatchObject({
      outcome: "success",
      clientId: "cli",
    });
  });
});

describe("changing a client", () => {
  it.each<[string, string, Parameters<typeof setClient>[2], string]>([
    ["default scopes outside its scopes", "demo-spa", { defaultScopes: ["admin"] }, "Default scopes must be among the client's scopes"],
    ["scopes that leave out its defaults", "demo-spa", { scopes: ["email"], defaultScopes: ["openid"] }, "Default scopes must be among the client's scopes"],
    ["a public client given a secret method", "demo-spa", { authMethods: ["client_secret_basic"] }, "A public client authenticates with none only"],
    ["a confidential client given none", "demo-backend", { authMethods: ["none"] }, "A confidential client needs a method that proves a credential"],
    ["a lifetime of zero", "demo-spa", { accessTokenTtl: 0 }, "Invalid lifetime (seconds): Too small: expected number to be >=1"],
    ["an unknown client", "nobody", { disabled: true }, "No client nobody in demo/default"],
    // The rules of `add` hold for every change too.
    ["a public client given client_credentials", "demo-spa", { grants: ["password", "client_credentials"] }, "A public client cannot use client_credentials"],
    [
      "a public client trusted with its end users' addresses",
      "demo-spa",
      { forwardsEndUserIp: true },
      "Only a confidential client can be trusted with its end users' addresses",
    ],
    [
      "a public client given a password reset page",
      "demo-spa",
      { passwordResetUri: "https://app.example/reset" },
      "Only a confidential client can offer password recovery (a password reset URI)",
    ],
  ])("refuses %s", async (_, clientId, changes, message) => {
    const events = await adminEvents();
    expect(await refusal(setClient(W, clientId, changes))).toBe(message);
    expect(await adminEvents()).toBe(events);
  });

  it("sets and removes a confidential client's password reset page", async () => {
    await setClient(W, "demo-backend", { passwordResetUri: "https://app.example/reset?lang=en" });
    expect((await findClient((await db().workspace.findFirstOrThrow()).id, "demo-backend"))?.passwordResetUri).toBe("https://app.example/reset?lang=en");
    await setClient(W, "demo-backend", { passwordResetUri: "" });
    expect((await listClients(W)).find((c) => c.clientId === "demo-backend")?.passwordResetUri).toBeNull();
    expect((await listClients(W)).find((c) => c.clientId === "demo-web")?.passwordResetUri).toBe("http://localhost:3000/reset-password");
  });

  it("keeps no secret as it is once the client no longer uses client_secret_jwt: the hash alone, as every other client", async () => {
    const { secret } = await addClient({
      ...base,
      clientId: "jwt-then-basic",
      grants: ["client_credentials"],
      scopes: ["introspect_tokens"],
      authMethods: ["client_secret_jwt"],
    });
    const stored = () => db().client.findFirstOrThrow({ where: { clientId: "jwt-then-basic" }, select: { jwtSecret: true, secretHash: true } });
    expect((await stored()).jwtSecret).not.toBeNull();
    // Another change that keeps the method keeps the secret.
    await setClient(W, "jwt-then-basic", { name: "Still HMAC" });
    expect((await stored()).jwtSecret).not.toBeNull();
    await setClient(W, "jwt-then-basic", { authMethods: ["client_secret_basic"] });
    const after = await stored();
    expect(after.jwtSecret).toBeNull();
    expect(after.secretHash).not.toBeNull();
    expect(JSON.stringify(after)).not.toContain(secret ?? "no secret");
  });

  it("refuses a change that changes nothing", async () => {
    await expect(setClient(W, "demo-spa", {})).rejects.toBeInstanceOf(NothingToChange);
  });

  it("decides public or confidential by the stored type, not by whether a secret is set", async () => {
    await db().client.create({
      data: {
        workspaceId: (await db().workspace.findFirstOrThrow()).id,
        clientId: "no-secret-yet",
        name: "x",
        type: "confidential",
        secretHash: null,
        authMethods: "client_secret_basic",
        grantTypes: "client_credentials",
        scopes: "a",
      },
    });
    expect(await refusal(setClient(W, "no-secret-yet", { authMethods: ["none"] }))).toBe("A confidential client needs a method that proves a credential");
    expect((await rotateClientSecret(W, "no-secret-yet")).secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await refusal(rotateClientSecret(W, "demo-spa"))).toBe("demo-spa is a public client: it has no secret");
  });

  it("is seen at once by this process (its caches are cleared) and is audited with what changed", async () => {
    const workspaceId = (await db().workspace.findFirstOrThrow()).id;
    expect((await findClient(workspaceId, "demo-service"))?.disabled).toBe(false);
    expect(await setClient(W, "demo-service", { disabled: true, accessTokenTtl: 600 })).toEqual({
      takesEffectWithinSeconds: expect.any(Number),
      needsNewSecret: false,
    });
    expect(await findClient(workspaceId, "demo-service")).toMatchObject({ disabled: true, accessTokenTtl: 600 });
    expect(await db().auditEvent.findFirst({ where: { event: "admin.client.set" }, orderBy: { createdAt: "desc" } })).toMatchObject({
      reason: "demo-service accessTokenTtl,disabled",
    });
  });
});
