import { describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { runCli } from "@/lib/cli/program.ts";
import type { CliIo } from "@/lib/cli/io.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { keySet } from "@/lib/oauth/tokens/keys.ts";
import { basic, ISSUER, postToken, SPA } from "@/lib/testing/oauth.ts";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

async function cli(args: string[], secret = "") {
  let out = "";
  let err = "";
  const io: CliIo = { out: (t) => void (out += `${t}\n`), err: (t) => void (err += `${t}\n`), readSecret: async () => secret };
  const status = await runCli(args, io);
  return { status, out, err };
}

const signIn = (username: string, password: string) => postToken({ grant_type: "password", ...SPA, username, password });

describe("admin CLI", () => {
  it.each(
    "|workspace|workspace create|workspace list|workspace set|user|user add|user list|user disable|user enable|user reset-password|user factors|user reset-mfa|client|client add|client list|client rotate-secret|client set|key|key rotate|key list|key retire|audit|audit tail|prune"
      .split("|")
      .map((path) => [path.split(" ").filter(Boolean)]),
  )("has --help for %j", async (path) => {
    const { status, out } = await cli([...path, "--help"]);
    expect(status).toBe(0);
    expect(out).toMatch(/^Usage: cli/);
  });

  it("refuses unknown commands and options with a non-zero exit", async () => {
    expect((await cli(["frobnicate"])).status).not.toBe(0);
    expect((await cli(["user", "list", "demo/default", "--bogus"])).status).not.toBe(0);
  });

  it("creates and lists workspaces", async () => {
    const created = await cli(["workspace", "create", "acme/prod", "--name", "Acme production"]);
    expect(created).toMatchObject({ status: 0, out: "Created workspace acme/prod; its issuer is http://localhost:3000/acme/prod\n" });
    expect((await cli(["workspace", "list"])).out).toMatch(/acme\/prod\s+Acme production\s+3600/);
    const again = await cli(["workspace", "create", "acme/prod"]);
    expect(again).toMatchObject({ status: 1, err: "Error: Workspace acme/prod exists already\n" });
    expect((await cli(["workspace", "create", "Acme/Prod"])).status).toBe(1);
    expect((await cli(["workspace", "set", "acme/prod", "--access-ttl", "600"])).status).toBe(0);
    expect((await db().workspace.findFirstOrThrow({ where: { slug: "prod" } })).accessTokenTtl).toBe(600);
    expect((await cli(["workspace", "set", "acme/prod", "--access-ttl", "-5"])).status).toBe(1);
  });

  it("adds a user whose password comes from standard input; the user can sign in", async () => {
    const added = await cli(["user", "add", "demo/default", "frank", "--email", "frank@example.com", "--name", "Frank"], "frank-password-1");
    expect(added).toMatchObject({ status: 0, out: "Added user frank to demo/default\n" });
    expect((await signIn("frank", "frank-password-1")).status).toBe(200);
    const row = await db().user.findFirstOrThrow({ where: { username: "frank" } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await cli(["user", "list", "demo/default"])).out).toMatch(/frank\s+\S+\s+frank@example\.com\s+Frank\s+false/);
  });

  it("writes nothing when a command is refused", async () => {
    const users = await db().user.count();
    const events = await db().auditEvent.count({ where: { event: { startsWith: "admin." } } });
    expect(await cli(["user", "add", "demo/default", "shorty"], "short")).toMatchObject({
      status: 1,
      err: "Error: The password must have at least 8 characters\n",
    });
    expect((await cli(["user", "add", "demo/default", "alice"], "long-enough-password")).status).toBe(1);
    expect((await cli(["user", "add", "demo/default", "x", "--email", "not-an-email"], "long-enough-password")).status).toBe(1);
    expect((await cli(["user", "add", "nope/none", "x"], "long-enough-password")).err).toBe("Error: No workspace nope/none\n");
    expect(await db().user.count()).toBe(users);
    expect(await db().auditEvent.count({ where: { event: { startsWith: "admin." } } })).toBe(events);
  });

  it("disables and enables a user, and resets a password (revoking refresh tokens)", async () => {
    await cli(["user", "add", "demo/default", "gina"], "gina-password-1");
    const { refresh_token } = await (await signIn("gina", "gina-password-1")).json();
    expect((await cli(["user", "disable", "demo/default", "gina"])).status).toBe(0);
    expect((await (await signIn("gina", "gina-password-1")).json()).error).toBe("invalid_grant");
    expect((await cli(["user", "enable", "demo/default", "gina"])).status).toBe(0);
    expect((await signIn("gina", "gina-password-1")).status).toBe(200);
    expect((await cli(["user", "reset-password", "demo/default", "gina"], "gina-password-2")).status).toBe(0);
    expect((await signIn("gina", "gina-password-1")).status).toBe(400);
    expect((await signIn("gina", "gina-password-2")).status).toBe(200);
    const refreshed = await postToken({ grant_type: "refresh_token", refresh_token, ...SPA });
    expect((await refreshed.json()).error).toBe("invalid_grant");
    expect((await cli(["user", "disable", "demo/default", "nobody"])).status).toBe(1);
    const events = await db().auditEvent.findMany({ where: { username: "gina", event: { startsWith: "admin." } }, orderBy: { createdAt: "asc" } });
    expect(events.map((e) => e.event)).toEqual(["admin.user.add", "admin.user.disable", "admin.user.enable", "admin.user.reset_password"]);
  });

  it("adds a client, printing its secret once; the secret works and is stored only hashed", async () => {
    const { status, out } = await cli(["client", "add", "demo/default", "reports", "--grants", "client_credentials", "--scopes", "introspect_tokens"]);
    expect(status).toBe(0);
    const secret = /client_secret: (\S+)/.exec(out)![1]!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const res = await postToken({ grant_type: "client_credentials" }, { Authorization: basic("reports", secret) });
    expect(res.status).toBe(200);
    const row = await db().client.findFirstOrThrow({ where: { clientId: "reports" } });
    expect(JSON.stringify(row)).not.toContain(secret);
    expect((await cli(["client", "list", "demo/default"])).out).not.toContain(secret);

    const rotated = await cli(["client", "rotate-secret", "demo/default", "reports"]);
    const next = /client_secret: (\S+)/.exec(rotated.out)![1]!;
    clearCaches();
    expect((await postToken({ grant_type: "client_credentials" }, { Authorization: basic("reports", secret) })).status).toBe(401);
    expect((await postToken({ grant_type: "client_credentials" }, { Authorization: basic("reports", next) })).status).toBe(200);
  });

  it.each([
    [["--grants", "implicit", "--scopes", "a"], /^Error: Invalid grants/],
    [["--grants", "password", "--scopes", 'bad"scope'], /^Error: Invalid scopes/],
    [["--grants", "password", "--scopes", "a", "--auth-methods", "none,client_secret_basic"], /^Error: Invalid auth methods/],
    [["--grants", "client_credentials", "--scopes", "a", "--auth-methods", "none"], /^Error: A public client cannot use client_credentials/],
    [["--grants", "password", "--scopes", "a", "--origins", "https://x.example/path"], /^Error: Invalid origins/],
  ])("refuses client add %j", async (options, message) => {
    const before = await db().client.count();
    const { status, err } = await cli(["client", "add", "demo/default", "refused-client", ...options]);
    expect(status).toBe(1);
    expect(err).toMatch(message);
    expect(await db().client.count()).toBe(before);
  });

  it("changes a client's grants, origins and state", async () => {
    await cli(["client", "add", "demo/default", "changing", "--grants", "password", "--scopes", "openid", "--auth-methods", "none"]);
    expect((await cli(["client", "set", "demo/default", "changing", "--grants", "password,refresh_token", "--origins", "https://app.example"])).status).toBe(0);
    expect((await cli(["client", "set", "demo/default", "changing", "--auth-methods", "client_secret_basic"])).err).toBe(
      "Error: A public client authenticates with none only\n",
    );
    expect((await cli(["client", "set", "demo/default", "changing", "--default-scopes", "email"])).status).toBe(1);
    expect((await cli(["client", "set", "demo/default", "changing", "--state", "disabled"])).status).toBe(0);
    clearCaches();
    const res = await postToken({ grant_type: "password", client_id: "changing", username: "alice", password: "alice-password-1" });
    expect(res.status).toBe(401);
    const row = await db().client.findFirstOrThrow({ where: { clientId: "changing" } });
    expect(row).toMatchObject({ grantTypes: "password refresh_token", allowedOrigins: "https://app.example", disabled: true });
  });

  it("rotates keys: the new one is published first, signs after the delay; the old one retires only when safe", async () => {
    const before = (await keySet(Date.now() + 10 ** 9)).signer().kid;
    const rotated = await cli(["key", "rotate", "--delay", "600"]);
    const kid = /New ES256 key (\S+):/.exec(rotated.out)![1]!;
    const rsa = /New RS256 key (\S+):/.exec(rotated.out)![1]!;
    expect(rotated.out).toMatch(/^New ES256 key \S+: .*\nNew RS256 key \S+: .*\nNew EdDSA key \S+: .*\n$/);
    const keys = await keySet(Date.now() + 2 * 10 ** 9); // past the cache bound
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kid, rsa, before]));
    expect(keys.signer().kid).toBe(before);
    expect(keys.signer("ES256", Date.now() + 601_000).kid).toBe(kid);
    expect(keys.signer("RS256", Date.now() + 601_000).kid).toBe(rsa);
    expect((await cli(["key", "list"])).out).toMatch(new RegExp(`${kid}\\s+ES256\\s+pending`));
    expect((await cli(["key", "list"])).out).toMatch(new RegExp(`${rsa}\\s+RS256\\s+pending`));
    expect((await cli(["key", "retire", before])).err).toMatch(/^Error: key \S+ is signing/);
    expect(await cli(["key", "retire", kid, "--force"])).toMatchObject({ status: 0, err: "" });
    expect((await keySet(Date.now() + 3 * 10 ** 9)).jwks().keys.map((k) => k.kid)).not.toContain(kid);
  });

  it("tails the audit trail with filters", async () => {
    await signIn("alice", "definitely-wrong");
    const { status, out } = await cli(["audit", "tail", "--user", "alice", "--outcome", "failure", "--limit", "1", "--json"]);
    expect(status).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ event: "token.password", outcome: "failure", username: "alice", reason: "wrong password", clientId: "demo-spa" });
  });
});

describe("admin CLI: a private_key_jwt client", () => {
  it("is registered with --auth-methods private_key_jwt --jwks <file>, gets no secret, and authenticates with its key", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "jwks-"));
    const file = path.join(dir, "jwks.json");
    fs.writeFileSync(file, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", use: "sig" }] }));
    const added = await cli([
      "client",
      "add",
      "demo/default",
      "keyed",
      "--grants",
      "client_credentials",
      "--scopes",
      "introspect_tokens",
      "--auth-methods",
      "private_key_jwt",
      "--jwks",
      file,
    ]);
    expect(added).toMatchObject({ status: 0, err: "" });
    expect(added.out).toBe("Added client keyed to demo/default\n");
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ iss: "keyed", sub: "keyed", aud: ISSUER, exp: now + 60, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .sign(privateKey);
    const res = await postToken({
      grant_type: "client_credentials",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    });
    expect(res.status).toBe(200);

    fs.writeFileSync(file, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    expect(
      (
        await cli([
          "client",
          "add",
          "demo/default",
          "leaky",
          "--grants",
          "client_credentials",
          "--scopes",
          "introspect_tokens",
          "--auth-methods",
          "private_key_jwt",
          "--jwks",
          file,
        ])
      ).err,
    ).toBe("Error: Invalid JWKS: a key has a private member: register the public key only\n");
    expect(
      (
        await cli([
          "client",
          "add",
          "demo/default",
          "keyless",
          "--grants",
          "client_credentials",
          "--scopes",
          "introspect_tokens",
          "--auth-methods",
          "private_key_jwt",
        ])
      ).err,
    ).toBe("Error: private_key_jwt needs the client's public keys (--jwks <file> or --jwks-uri <url>)\n");
    expect(await db().client.count({ where: { clientId: { in: ["leaky", "keyless"] } } })).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
