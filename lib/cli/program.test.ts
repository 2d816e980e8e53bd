import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import net from "node:net";
import Database from "better-sqlite3";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { cli } from "@/lib/testing/cli.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { keySet } from "@/lib/oauth/tokens/keys.ts";
import { basic, callUserinfo, introspect, ISSUER, postToken, SERVICE_BASIC, signIn as signInAs, SPA } from "@/lib/testing/oauth.ts";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

const BACKEND = { Authorization: basic("demo-backend", "demo-backend-secret") };

const signIn = (username: string, password: string) => postToken({ grant_type: "password", ...SPA, username, password });

describe("admin CLI", () => {
  it.each(
    "|workspace|workspace create|workspace list|workspace set|workspace branding|user|user add|user list|user disable|user enable|user reset-password|user factors|user reset-mfa|client|client add|client list|client rotate-secret|client set|key|key rotate|key list|key retire|audit|audit tail|prune|workspace delete|user set|user delete|client delete|database|database backup|database restore"
      .split("|")
      .map((path) => [path.split(" ").filter(Boolean)]),
  )("has --help for %j", async (path) => {
    const { status, out } = await cli([...path, "--help"]);
    expect(status).toBe(0);
    expect(out).toMatch(/^Usage: cli/);
  });

  it("shows and changes a workspace's branding, with the logo read from a file", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "branding-"));
    const png = path.join(dir, "logo.png");
    fs.writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]));
    const svg = path.join(dir, "logo.svg");
    fs.writeFileSync(svg, "<svg xmlns='http://www.w3.org/2000/svg'/>");
    expect(await cli(["workspace", "branding", "demo/default", "--name", "Acme", "--accent", "#1d4ed8", "--logo-file", png])).toMatchObject({
      status: 0,
      out: "Updated the branding of workspace demo/default\n",
    });
    expect(JSON.parse((await cli(["workspace", "branding", "demo/default", "--json"])).out)).toEqual([
      { name: "Acme", logo: "uploaded image/png, 12 bytes", accent: "#1d4ed8", help_url: null, terms_url: null, privacy_url: null },
    ]);
    expect(await cli(["workspace", "branding", "demo/default", "--accent", "#7dd3fc"])).toMatchObject({
      status: 1,
      err: "Error: Invalid accent colour #7dd3fc: white button text on it has a contrast of 1.66:1, below the 4.5:1 that WCAG 2.2 AA asks; choose a darker colour\n",
    });
    expect((await cli(["workspace", "branding", "demo/default", "--logo-file", svg])).err).toBe(
      "Error: Invalid logo: a PNG, JPEG or WebP image (SVG is refused: it can carry script)\n",
    );
    expect((await cli(["workspace", "branding", "demo/default", "--logo-file", path.join(dir, "missing.png")])).err).toBe(
      `Error: Cannot read the logo file ${JSON.stringify(path.join(dir, "missing.png"))}\n`,
    );
    expect((await cli(["workspace", "branding", "demo/default", "--name", ""])).status).toBe(0);
    expect(JSON.parse((await cli(["workspace", "branding", "demo/default", "--json"])).out)[0].name).toBeNull();
  });

  it("refuses to prune in production without AUDIT_RETENTION_DAYS: the audit trail is never cut at this shell's default", async () => {
    const { AUDIT_RETENTION_DAYS: _, ...rest } = process.env;
    const workspaceId = (await db().workspace.findFirstOrThrow()).id;
    const old = await db().auditEvent.create({
      data: { workspaceId, event: "token.password", outcome: "success", createdAt: new Date(Date.now() - 120 * 86_400_000) },
    });
    // Unset, or set to nothing (which the settings take for unset).
    for (const env of [rest, { ...rest, AUDIT_RETENTION_DAYS: "" }]) {
      const refused = await cli(["prune"], { env: { ...env, NODE_ENV: "production" } });
      expect(refused).toMatchObject({
        status: 1,
        out: "",
        err: "Error: prune deletes the audit events older than AUDIT_RETENTION_DAYS, which this shell does not set: set it as the servers have it (their default is 90), e.g. AUDIT_RETENTION_DAYS=90 npm run cli -- prune; nothing was deleted.\nSee .env.example.\n",
      });
    }
    expect(await db().auditEvent.count({ where: { id: old.id } })).toBe(1);
    // Set (as the servers have it), the audit events past it are pruned.
    expect(settings().AUDIT_RETENTION_DAYS).toBe(90);
    expect((await cli(["prune", "--json"], { env: { ...rest, NODE_ENV: "production", AUDIT_RETENTION_DAYS: "90" } })).status).toBe(0);
    expect(await db().auditEvent.count({ where: { id: old.id } })).toBe(0);
  });

  it("refuses to run in production without DATABASE_URL: the development file is never a production database", async () => {
    const { DATABASE_URL: _, ...rest } = process.env;
    const before = await db().workspace.count();
    for (const args of [
      ["workspace", "list"],
      ["workspace", "create", "acme/prod"],
    ]) {
      const { status, out, err } = await cli(args, { env: { ...rest, NODE_ENV: "production" } });
      expect(status).toBe(1);
      expect(out).toBe("");
      expect(err).toBe(
        "Error: DATABASE_URL is required in production: e.g. DATABASE_URL=file:/var/lib/ropc-login-kit/ropc.db (SQLite) or postgresql://user:password@host:5432/db?sslmode=verify-full.\nSee .env.example.\n",
      );
    }
    expect(await db().workspace.count()).toBe(before);
  });

  it("names a bad setting and its fix, without a stack trace", async () => {
    const { status, err } = await cli(["workspace", "list"], { env: { ...process.env, KEY_ENCRYPTION_KEY: "short", DATABASE_URL: "mysql://x" } });
    expect(status).toBe(1);
    expect(err).toMatch(
      /^Error: Invalid setting DATABASE_URL: must be a file: URL \(SQLite\) or a postgresql:\/\/ URL\.\nInvalid setting KEY_ENCRYPTION_KEY: .*\nSee \.env\.example\.\n$/,
    );
    expect(err).not.toMatch(/\n\s+at /);
  });

  it("names a missing SQLite database and how to make one, without making an empty file there", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cli-db-")), "nope.db");
    const env = { ...process.env, DATABASE_URL: `file:${file}` };
    const { status, err } = await cli(["workspace", "list"], { env });
    expect(status).toBe(1);
    expect(err).toBe(`Error: No database at ${file}: run \`npm run setup\` to make one there, or set DATABASE_URL to the database the servers use\n`);
    expect(fs.readdirSync(path.dirname(file))).toEqual([]);
    // Help needs no database.
    expect((await cli(["--help"], { env })).status).toBe(0);
  });

  it("says a database without this app's tables needs `npm run setup`, without a stack trace", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cli-db-")), "empty.db");
    new Database(file).close();
    const root = path.resolve(import.meta.dirname, "..", "..");
    const run = spawnSync(path.join(root, "node_modules", ".bin", "tsx"), ["lib/cli/main.ts", "workspace", "list"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: `file:${file}` },
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      "Error: The database has no tables of this app, or lacks some (it was never set up, or this build is newer): run `npm run setup`, which migrates it.\n",
    );
  }, 30_000);

  it("says a PostgreSQL server it cannot reach is DATABASE_URL's to check, without a stack trace or the URL's password", async () => {
    // Nothing listens on port 1: the connection is refused at once.
    const root = path.resolve(import.meta.dirname, "..", "..");
    const run = spawnSync(path.join(root, "node_modules", ".bin", "tsx"), ["lib/cli/main.ts", "workspace", "list"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: "postgresql://app:sekrit-pass@127.0.0.1:1/app" },
      encoding: "utf8",
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      "Error: Cannot use the database DATABASE_URL names (no server answers at 127.0.0.1:1): check DATABASE_URL (host, port, user, password, database) and that its server is running.\n",
    );
    expect(run.stdout).not.toContain("sekrit-pass");
  }, 30_000);

  it("says how long the database kept it waiting, and which setting gives it longer, without a stack trace", async () => {
    const root = path.resolve(import.meta.dirname, "..", "..");
    const run = (args: string[], env: Record<string, string>) =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(path.join(root, "node_modules", ".bin", "tsx"), ["lib/cli/main.ts", ...args], {
          cwd: root,
          env: { ...process.env, DATABASE_TIMEOUT_SECONDS: "1", ...env },
        });
        let stderr = "";
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.on("close", (status) => resolve({ status, stderr }));
      });
    // A statement that waits for another process's lock on the table it writes.
    const url = process.env.DATABASE_URL!;
    const holder = url.startsWith("file:") ? new Database(settings().databaseFile!) : new pg.Client({ connectionString: url });
    if (holder instanceof Database) holder.exec("BEGIN IMMEDIATE");
    else await holder.connect().then(() => holder.query('BEGIN; LOCK TABLE "Workspace" IN EXCLUSIVE MODE'));
    try {
      expect(await run(["workspace", "create", "slow/create"], {})).toEqual({
        status: 1,
        stderr:
          "Error: The database stopped a statement after DATABASE_TIMEOUT_SECONDS (1 s), spent running or waiting for another's lock, and rolled back its transaction. Try again; for a change this large, give the command more time in its environment, e.g. DATABASE_TIMEOUT_SECONDS=600.\n",
      });
    } finally {
      if (holder instanceof Database) holder.exec("ROLLBACK");
      else await holder.query("ROLLBACK").then(() => holder.end());
    }
    // Rolled back whole: the tenant it made before the workspace too.
    expect(await db().tenant.count({ where: { slug: "slow" } })).toBe(0);
    // A PostgreSQL server that takes the connection and never answers.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      expect(await run(["workspace", "list"], { DATABASE_URL: `postgresql://ropc:secret@127.0.0.1:${port}/ropc` })).toEqual({
        status: 1,
        stderr:
          "Error: The database did not answer within DATABASE_TIMEOUT_SECONDS (1 s): check that the server DATABASE_URL names is up, reachable from here, and has a connection to spare.\n",
      });
    } finally {
      silent.close();
    }
  }, 60_000);

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
    const added = await cli(["user", "add", "demo/default", "frank", "--email", "frank@example.com", "--name", "Frank"], { secrets: ["frank-password-1"] });
    expect(added).toMatchObject({ status: 0, out: "Added user frank to demo/default\n" });
    expect((await signIn("frank", "frank-password-1")).status).toBe(200);
    const row = await db().user.findFirstOrThrow({ where: { username: "frank" } });
    expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await cli(["user", "list", "demo/default"])).out).toMatch(/frank\s+\S+\s+frank@example\.com\s+Frank\s+false/);
  });

  it("writes nothing when a command is refused", async () => {
    const users = await db().user.count();
    const events = await db().auditEvent.count({ where: { event: { startsWith: "admin." } } });
    expect(await cli(["user", "add", "demo/default", "shorty"], { secrets: ["short"] })).toMatchObject({
      status: 1,
      err: "Error: The password must have at least 8 characters\n",
    });
    expect((await cli(["user", "add", "demo/default", "alice"], { secrets: ["long-enough-password"] })).status).toBe(1);
    expect((await cli(["user", "add", "demo/default", "x", "--email", "not-an-email"], { secrets: ["long-enough-password"] })).status).toBe(1);
    expect((await cli(["user", "add", "nope/none", "x"], { secrets: ["long-enough-password"] })).err).toBe("Error: No workspace nope/none\n");
    expect(await db().user.count()).toBe(users);
    expect(await db().auditEvent.count({ where: { event: { startsWith: "admin." } } })).toBe(events);
  });

  it("disables and enables a user, and resets a password (revoking refresh tokens)", async () => {
    await cli(["user", "add", "demo/default", "gina"], { secrets: ["gina-password-1"] });
    const { refresh_token } = await (await signIn("gina", "gina-password-1")).json();
    expect((await cli(["user", "disable", "demo/default", "gina"])).status).toBe(0);
    expect((await (await signIn("gina", "gina-password-1")).json()).error).toBe("invalid_grant");
    expect((await cli(["user", "enable", "demo/default", "gina"])).status).toBe(0);
    expect((await signIn("gina", "gina-password-1")).status).toBe(200);
    expect((await cli(["user", "reset-password", "demo/default", "gina"], { secrets: ["gina-password-2"] })).status).toBe(0);
    expect((await signIn("gina", "gina-password-1")).status).toBe(400);
    expect((await signIn("gina", "gina-password-2")).status).toBe(200);
    const refreshed = await postToken({ grant_type: "refresh_token", refresh_token, ...SPA });
    expect((await refreshed.json()).error).toBe("invalid_grant");
    expect((await cli(["user", "disable", "demo/default", "nobody"])).status).toBe(1);
    const events = await db().auditEvent.findMany({ where: { username: "gina", event: { startsWith: "admin." } }, orderBy: { createdAt: "asc" } });
    expect(events.map((e) => e.event)).toEqual(["admin.user.add", "admin.user.disable", "admin.user.enable", "admin.user.reset_password"]);
  });

  it("pins a JWT client's assertion algorithm with --auth-signing-alg, and unpins it with any", async () => {
    const add = [
      "client",
      "add",
      "demo/default",
      "pinned-cs",
      "--grants",
      "client_credentials",
      "--scopes",
      "introspect_tokens",
      "--auth-methods",
      "client_secret_jwt",
    ];
    const refused = await cli([...add, "--auth-signing-alg", "ES256"]);
    expect(refused.status).toBe(1);
    expect(refused.err).toContain("A token endpoint auth signing algorithm of ES256 fits none of the client's auth methods");
    expect((await cli([...add, "--auth-signing-alg", "HS256"])).status).toBe(0);
    const pinned = async () =>
      (JSON.parse((await cli(["client", "list", "demo/default", "--json"])).out) as Record<string, unknown>[]).find((c) => c.client_id === "pinned-cs");
    expect((await pinned())?.auth_signing_alg).toBe("HS256");
    expect((await cli(["client", "set", "demo/default", "pinned-cs", "--auth-signing-alg", "any"])).status).toBe(0);
    expect((await pinned())?.auth_signing_alg).toBeNull();
    expect((await cli(["client", "set", "demo/default", "pinned-cs", "--auth-signing-alg", "none"])).status).not.toBe(0);
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

  it("asks before giving the login app's own client a new secret: its sign-ins fail until LOGIN_CLIENT_SECRET holds it", async () => {
    const before = (await db().client.findFirstOrThrow({ where: { clientId: "demo-web" } })).secretHash;
    expect(await cli(["client", "rotate-secret", "demo/default", "demo-web"])).toMatchObject({
      status: 1,
      out: "",
      err: "Standard input is not a terminal: give --yes to confirm\nError: Nothing was changed\n",
    });
    expect(await cli(["client", "rotate-secret", "demo/default", "demo-web"], { interactive: true, answer: false })).toMatchObject({
      status: 1,
      out: "",
      prompts: [
        "demo-web is the login app's own client (LOGIN_CLIENT_ID): sign-ins on its pages fail until LOGIN_CLIENT_SECRET holds the new secret and the app is restarted. Give it a new secret? [y/N] ",
      ],
    });
    expect((await db().client.findFirstOrThrow({ where: { clientId: "demo-web" } })).secretHash).toBe(before);
    const rotated = await cli(["client", "rotate-secret", "demo/default", "demo-web", "--yes"]);
    expect(rotated).toMatchObject({ status: 0, prompts: [], out: expect.stringMatching(/^client_secret: [A-Za-z0-9_-]{43}\n/) });
    expect((await db().client.findFirstOrThrow({ where: { clientId: "demo-web" } })).secretHash).not.toBe(before);
  });

  it("says that a client switched to client_secret_jwt needs a new secret, and which command gives it one", async () => {
    expect((await cli(["client", "add", "demo/default", "to-hmac", "--grants", "client_credentials", "--scopes", "introspect_tokens"])).status).toBe(0);
    const switched = await cli(["client", "set", "demo/default", "to-hmac", "--auth-methods", "client_secret_basic,client_secret_jwt"]);
    expect(switched.status).toBe(0);
    expect(switched.out).toBe(
      "Updated client to-hmac (takes effect within 10 s on every instance)\nIts client_secret_jwt assertions are refused until it has a new secret: only a hash of its current one is kept, and an HMAC needs the secret itself. Run: npm run cli -- client rotate-secret demo/default to-hmac\n",
    );
    // Once it has one, it is kept: another change says nothing more.
    expect((await cli(["client", "rotate-secret", "demo/default", "to-hmac"])).status).toBe(0);
    expect((await cli(["client", "set", "demo/default", "to-hmac", "--auth-methods", "client_secret_jwt"])).out).toBe(
      "Updated client to-hmac (takes effect within 10 s on every instance)\n",
    );
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

  it("gives a confidential client a password reset page, and takes it away", async () => {
    const added = await cli([
      "client",
      "add",
      "demo/default",
      "resetting",
      "--grants",
      "password",
      "--scopes",
      "openid",
      "--password-reset-uri",
      "https://app.example/reset",
    ]);
    expect(added.status).toBe(0);
    expect((await db().client.findFirstOrThrow({ where: { clientId: "resetting" } })).passwordResetUri).toBe("https://app.example/reset");
    expect((await cli(["client", "list", "demo/default", "--json"])).out).toContain('"password_reset_uri": "https://app.example/reset"');
    expect((await cli(["client", "set", "demo/default", "resetting", "--password-reset-uri", ""])).status).toBe(0);
    expect((await db().client.findFirstOrThrow({ where: { clientId: "resetting" } })).passwordResetUri).toBeNull();
    const refused = await cli([
      "client",
      "add",
      "demo/default",
      "public-reset",
      "--grants",
      "password",
      "--scopes",
      "openid",
      "--auth-methods",
      "none",
      "--password-reset-uri",
      "https://app.example/reset",
    ]);
    expect(refused).toMatchObject({ status: 1, err: "Error: Only a confidential client can offer password recovery (a password reset URI)\n" });
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

  it("sets dpop_bound_access_tokens on a client (RFC 9449 §5.2) and DPoP nonces on a workspace (§8), and lists both", async () => {
    const added = await cli([
      "client",
      "add",
      "demo/default",
      "bound",
      "--grants",
      "password",
      "--scopes",
      "openid",
      "--auth-methods",
      "none",
      "--dpop-bound-access-tokens",
    ]);
    expect(added.status).toBe(0);
    expect((await db().client.findFirstOrThrow({ where: { clientId: "bound" } })).dpopBoundAccessTokens).toBe(true);
    clearCaches();
    const refused = await postToken({ grant_type: "password", client_id: "bound", username: "alice", password: "alice-password-1" });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toBe("invalid_dpop_proof");
    expect((await cli(["client", "set", "demo/default", "bound", "--dpop-bound-access-tokens", "no"])).status).toBe(0);
    expect((await db().client.findFirstOrThrow({ where: { clientId: "bound" } })).dpopBoundAccessTokens).toBe(false);
    expect((await cli(["client", "set", "demo/default", "bound", "--dpop-bound-access-tokens", "maybe"])).status).not.toBe(0);
    const clients = JSON.parse((await cli(["client", "list", "demo/default", "--json"])).out) as { client_id: string; dpop_bound: boolean }[];
    expect(clients.find((c) => c.client_id === "bound")?.dpop_bound).toBe(false);

    expect((await cli(["workspace", "set", "demo/default", "--dpop-nonces", "on"])).status).toBe(0);
    const workspaces = JSON.parse((await cli(["workspace", "list", "--json"])).out) as { workspace: string; dpop_nonces: boolean }[];
    expect(workspaces.find((w) => w.workspace === "demo/default")?.dpop_nonces).toBe(true);
    expect((await cli(["workspace", "set", "demo/default", "--dpop-nonces", "off"])).status).toBe(0);
    expect((await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).dpopNonces).toBe(false);
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
    // The signing key forced out with no pending ES256 key left: a new one signs in its place.
    const forced = await cli(["key", "retire", before, "--force"]);
    const replacement = /^Retired key \S+\nNew ES256 key (\S+): signs now, in its place\n$/.exec(forced.out)?.[1];
    expect(forced).toMatchObject({ status: 0, err: "" });
    expect(replacement).toBeDefined();
    expect((await keySet(Date.now() + 4 * 10 ** 9)).signer("ES256").kid).toBe(replacement);
    const audit = await db().auditEvent.findFirst({ where: { event: "admin.key.retire", reason: { startsWith: before } } });
    expect(audit?.reason).toBe(`${before}, replaced by ${replacement}`);
  });

  it("retires a key whose id begins with a dash (base64url), not taking it for an option", async () => {
    const [row] = await db().signingKey.findMany({ take: 1 });
    const kid = `-${randomUUID()}`;
    await db().signingKey.create({ data: { ...row!, kid, activeFrom: new Date(Date.now() + 86_400_000), retiredAt: null, createdAt: new Date() } });
    expect(await cli(["key", "retire", kid, "--force"])).toMatchObject({ status: 0, err: "", out: `Retired key ${kid}\n` });
    expect((await db().signingKey.findUniqueOrThrow({ where: { kid } })).retiredAt).not.toBeNull();
  });

  it("tails the audit trail with filters", async () => {
    await signIn("alice", "definitely-wrong");
    const { status, out } = await cli(["audit", "tail", "--user", "alice", "--outcome", "failure", "--limit", "1", "--json"]);
    expect(status).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ event: "token.password", outcome: "failure", username: "alice", reason: "wrong password", clientId: "demo-spa" });
  });

  it.each([
    ["piped, empty", { secrets: [""] }, 1, "Error: No password was given: standard input was empty\n", ["Password: "]],
    ["piped, a newline only (read as empty)", { secrets: [""] }, 1, "Error: No password was given: standard input was empty\n", ["Password: "]],
    ["typed, then nothing", { secrets: [""], interactive: true }, 1, "Error: No password was given\n", ["Password: "]],
    [
      "typed twice, differently",
      { secrets: ["karl-password-1", "karl-password-2"], interactive: true },
      1,
      "Error: The two passwords differ: nothing was changed\n",
      ["Password: ", "Password again: "],
    ],
    ["typed twice, the same", { secrets: ["karl-password-1"], interactive: true }, 0, "", ["Password: ", "Password again: "]],
    ["piped", { secrets: ["karl-password-1"] }, 0, "", ["Password: "]],
  ])("asks for a new password: %s", async (_case, terminal, status, err, prompts) => {
    const username = `karl-${randomUUID()}`;
    const events = await db().auditEvent.count({ where: { event: "admin.user.add" } });
    const added = await cli(["user", "add", "demo/default", username], terminal);
    expect(added).toMatchObject({ status, err, prompts });
    expect(await db().user.count({ where: { username } })).toBe(status === 0 ? 1 : 0);
    expect(await db().auditEvent.count({ where: { event: "admin.user.add" } })).toBe(events + (status === 0 ? 1 : 0));
    if (status === 0) expect((await signIn(username, "karl-password-1")).status).toBe(200);
  });

  it("asks twice for a reset password too, and changes nothing when they differ", async () => {
    const differ = await cli(["user", "reset-password", "demo/default", "alice"], { secrets: ["alice-password-2", "alice-password-3"], interactive: true });
    expect(differ).toMatchObject({ status: 1, err: "Error: The two passwords differ: nothing was changed\n" });
    expect((await signIn("alice", "alice-password-1")).status).toBe(200);
  });

  it.each([
    [
      ["workspace", "list"],
      ["workspace", "name", "access_ttl", "id_ttl", "refresh_ttl", "default_scopes", "mfa_policy", "dpop_nonces", "password_min_length"],
    ],
    [
      ["user", "list", "demo/default"],
      ["username", "id", "email", "name", "disabled"],
    ],
    [
      ["user", "factors", "demo/default", "dave"],
      ["id", "type", "state", "created_at", "confirmed_at", "recovery_codes_left"],
    ],
    [
      ["client", "list", "demo/default"],
      [
        "client_id",
        "name",
        "type",
        "auth",
        "grants",
        "scopes",
        "default_scopes",
        "origins",
        "audiences",
        "access_ttl",
        "id_ttl",
        "refresh_ttl",
        "forwards_ip",
        "id_token_alg",
        "auth_signing_alg",
        "mfa_policy",
        "dpop_bound",
        "password_reset_uri",
        "jwks",
        "jwks_uri",
        "disabled",
      ],
    ],
    [
      ["key", "list"],
      ["kid", "alg", "state", "active_from", "superseded_at", "retired_at"],
    ],
    [["prune"], ["kind", "deleted"]],
  ])("prints %j --json as an array of objects with stable fields, and no secret", async (args, fields) => {
    const { status, out } = await cli([...args, "--json"]);
    expect(status).toBe(0);
    const rows = JSON.parse(out) as Record<string, unknown>[];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) expect(Object.keys(row)).toEqual(fields);
    const secrets = [
      ...(await db().user.findMany()).map((u) => u.passwordHash),
      ...(await db().client.findMany()).flatMap((c) => [c.secretHash, c.jwtSecret].filter((x) => x !== null)),
      ...(await db().signingKey.findMany()).map((k) => (JSON.parse(k.privateJwk) as { d: string }).d),
      ...(await db().mfaFactor.findMany()).map((f) => f.secret),
      ...(await db().serverSecret.findMany()).map((x) => x.value),
    ];
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(out).not.toContain(secret);
  });

  it("edits a user's username, name and email; the username stays unique; a new email is unverified", async () => {
    await db().user.updateMany({ where: { username: "bob" }, data: { emailVerified: true } });
    const bob = await signInAs({ ...SPA, username: "bob", password: "bob-password-1" });
    expect(await cli(["user", "set", "demo/default", "bob", "--username", "alice"])).toMatchObject({ status: 1, err: "Error: User alice exists already\n" });
    expect(await cli(["user", "set", "demo/default", "bob", "--email", "not-an-email"])).toMatchObject({ status: 1 });
    expect(await cli(["user", "set", "demo/default", "bob"])).toMatchObject({
      status: 1,
      err: "Error: Nothing to change: give at least one option (see --help)\n",
    });
    expect(await cli(["user", "set", "demo/default", "nobody", "--name", "X"])).toMatchObject({ status: 1, err: "Error: No user nobody in demo/default\n" });
    const renamed = await cli(["user", "set", "demo/default", "bob", "--username", "robert", "--name", "Robert", "--email", "robert@example.com"]);
    expect(renamed).toMatchObject({ status: 0, out: "Updated user robert\n" });
    expect(await db().user.findFirstOrThrow({ where: { username: "robert" } })).toMatchObject({
      name: "Robert",
      email: "robert@example.com",
      emailVerified: false,
    });
    expect(await db().user.count({ where: { username: "bob" } })).toBe(0);
    // The tokens name the user by id: they go on, under the new name.
    expect(await introspect(bob.access_token)).toMatchObject({ active: true, username: "robert" });
    expect((await signIn("robert", "bob-password-1")).status).toBe(200);
    expect(await cli(["user", "set", "demo/default", "robert", "--email", "", "--name", ""])).toMatchObject({ status: 0 });
    expect(await db().user.findFirstOrThrow({ where: { username: "robert" } })).toMatchObject({ name: null, email: null });
    const events = await db().auditEvent.findMany({ where: { event: "admin.user.set" }, orderBy: { createdAt: "asc" } });
    expect(events.map((e) => [e.username, e.reason])).toEqual([
      ["robert", "username (was bob), name, email, emailVerified"],
      ["robert", "name, email, emailVerified"],
    ]);
    expect(JSON.stringify(events)).not.toContain("robert@example.com");
  });

  it.each([
    ["without --yes, piped", { interactive: false }, "Standard input is not a terminal: give --yes to confirm\nError: Nothing was deleted\n"],
    ["answered no", { interactive: true, answer: false }, "Error: Nothing was deleted\n"],
  ])("deletes nothing %s", async (_case, terminal, err) => {
    for (const args of [
      ["user", "delete", "demo/default", "alice"],
      ["client", "delete", "demo/default", "demo-spa"],
      ["workspace", "delete", "demo/default"],
    ]) {
      expect(await cli(args, terminal)).toMatchObject({ status: 1, out: "", err });
    }
    expect(await db().user.count({ where: { username: "alice" } })).toBe(1);
    expect(await db().client.count({ where: { clientId: "demo-spa" } })).toBe(1);
    expect(await db().workspace.count({ where: { slug: "default" } })).toBe(1);
    expect(await db().auditEvent.count({ where: { event: { endsWith: ".delete" } } })).toBe(0);
  });

  it.each([
    [["user", "delete", "demo/default", "nobody"], "Error: No user nobody in demo/default\n"],
    [["client", "delete", "demo/default", "nobody"], "Error: No client nobody in demo/default\n"],
    [["workspace", "delete", "demo/nowhere"], "Error: No workspace demo/nowhere\n"],
  ])("refuses %j before asking anything", async (args, err) => {
    expect(await cli(args, { interactive: true, answer: true })).toMatchObject({ status: 1, err, prompts: [] });
  });

  it("deletes a user once confirmed: their sessions end, refresh tokens are revoked, access tokens are refused by introspection and userinfo", async () => {
    await cli(["user", "add", "demo/default", "lena"], { secrets: ["lena-password-1"] });
    const lena = { ...SPA, username: "lena", password: "lena-password-1" };
    const a = await signInAs(lena);
    const b = await signInAs(lena);
    const deleted = await cli(["user", "delete", "demo/default", "lena"], { interactive: true, answer: true });
    expect(deleted).toMatchObject({
      status: 0,
      prompts: ["Delete user lena of demo/default? 2 live session(s) end and 2 refresh token(s) are revoked. [y/N] "],
      out:
        "Deleted user lena from demo/default.\n" +
        "Ended 2 session(s) and revoked 2 refresh token(s) (deleted with it): no refresh works again.\n" +
        "Access tokens already issued: introspection and userinfo refuse them now; a resource server that verifies them itself accepts them until they expire (within 3600 s).\n",
    });
    for (const t of [a, b]) {
      expect((await (await postToken({ grant_type: "refresh_token", refresh_token: t.refresh_token, ...SPA })).json()).error).toBe("invalid_grant");
      expect(await introspect(t.access_token)).toEqual({ active: false });
      expect((await callUserinfo({ headers: { Authorization: `Bearer ${t.access_token}` } })).status).toBe(401);
    }
    expect((await signIn("lena", "lena-password-1")).status).toBe(400);
    expect(await db().user.count({ where: { username: "lena" } })).toBe(0);
    expect(await db().auditEvent.findFirst({ where: { event: "admin.user.delete" } })).toMatchObject({
      username: "lena",
      clientId: "cli",
      outcome: "success",
      reason: "user lena; ended 2 session(s), 2 refresh token(s)",
    });
  });

  it("deletes a client with --yes: sessions signed in through it end; other clients' go on", async () => {
    await cli(["user", "add", "demo/default", "mona"], { secrets: ["mona-password-1"] });
    await cli(["client", "add", "demo/default", "brief-spa", "--grants", "password,refresh_token", "--scopes", "openid", "--auth-methods", "none"]);
    const spa = await signInAs({ client_id: "brief-spa", username: "mona", password: "mona-password-1" });
    const backend = await signInAs({ username: "mona", password: "mona-password-1" }, BACKEND);
    const service = await (await postToken({ grant_type: "client_credentials" }, SERVICE_BASIC)).json();
    const deleted = await cli(["client", "delete", "demo/default", "brief-spa", "--yes"]);
    expect(deleted).toMatchObject({ status: 0, prompts: [] });
    expect(deleted.out).toMatch(/^Deleted client brief-spa from demo\/default; it cannot authenticate any more \(within 10 s on every instance/);
    expect(deleted.out).toContain("Ended 1 session(s) and revoked 1 refresh token(s)");
    expect(await introspect(spa.access_token)).toEqual({ active: false });
    expect(await introspect(backend.access_token)).toMatchObject({ active: true });
    expect(await introspect(service.access_token)).toMatchObject({ active: true });
    expect((await cli(["client", "delete", "demo/default", "demo-service", "--yes"])).status).toBe(0);
    expect(await introspect(service.access_token)).toEqual({ active: false });
    // Without an ORDER BY, PostgreSQL may return the two rows either way.
    expect((await db().auditEvent.findMany({ where: { event: "admin.client.delete" } })).map((e) => e.reason).sort()).toEqual([
      "client brief-spa; ended 1 session(s), 1 refresh token(s)",
      "client demo-service; ended 0 session(s), 0 refresh token(s)",
    ]);
  });

  it("deletes a workspace with its users and clients, and its tenant when it was the last", async () => {
    await cli(["workspace", "create", "gone/soon"]);
    await cli(["user", "add", "gone/soon", "ursula"], { secrets: ["ursula-password-1"] });
    await cli(["client", "add", "gone/soon", "gone-spa", "--grants", "password", "--scopes", "openid", "--auth-methods", "none"]);
    const deleted = await cli(["workspace", "delete", "gone/soon", "--yes"]);
    expect(deleted.status).toBe(0);
    expect(deleted.out).toMatch(
      /^Deleted workspace gone\/soon with its 1 user\(s\) and 1 client\(s\); its issuer stops answering within 10 s on every instance\.\n/,
    );
    expect(await db().tenant.count({ where: { slug: "gone" } })).toBe(0);
    expect(await db().user.count({ where: { username: "ursula" } })).toBe(0);
    expect(await db().client.count({ where: { clientId: "gone-spa" } })).toBe(0);
    expect(await db().auditEvent.findFirst({ where: { event: "admin.workspace.delete" } })).toMatchObject({
      reason: "workspace gone/soon; ended 0 session(s), 0 refresh token(s), 1 user(s), 1 client(s)",
    });
    expect((await cli(["workspace", "list", "--json"])).out).not.toContain("gone/soon");
  });

  it("backs the database up and refuses to restore over the open one; on PostgreSQL, says to use pg_dump and pg_restore", async () => {
    const file = path.join(os.tmpdir(), `ropc-cli-backup-${randomUUID()}.db`);
    const backup = await cli(["database", "backup", file]);
    const restore = await cli(["database", "restore", file, "--yes"]);
    const live = settings().databaseFile;
    if (live === undefined) {
      expect(backup).toMatchObject({
        status: 1,
        out: "",
        err: 'Error: DATABASE_URL is a PostgreSQL database: use pg_dump -Fc (README, "Backups"); nothing was done\n',
      });
      expect(restore).toMatchObject({
        status: 1,
        out: "",
        err: 'Error: DATABASE_URL is a PostgreSQL database: use pg_restore (README, "Backups"); nothing was done\n',
      });
      expect(fs.existsSync(file)).toBe(false);
      return;
    }
    try {
      expect(backup).toMatchObject({
        status: 0,
        out: `Backed up the database to ${file} (${fs.statSync(file).size} bytes). It holds the signing keys' private parts and the server's secrets: keep it where only operators can read it.\n`,
      });
      expect(await cli(["database", "backup", file])).toMatchObject({ status: 1, err: `Error: ${file} exists already (--force replaces it)\n` });
      // What a backup killed outright left beside the file (no process holds its lock).
      const left = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
      fs.writeFileSync(left, "a copy");
      const again = await cli(["database", "backup", file, "--force"]);
      expect(again.status).toBe(0);
      expect(again.out.split("\n")[1]).toBe(`Removed what backups killed before they finished had left beside it (each a whole copy of the database): ${left}`);
      expect(fs.existsSync(left)).toBe(false);
      expect(restore).toMatchObject({
        status: 1,
        out: "",
        err: `Error: ${live} is in use (a server or another command has it open): stop every server on it first\n`,
      });
    } finally {
      fs.rmSync(file, { force: true });
    }
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
    // client list --json shows every setting, its keys included (public ones: nothing secret).
    const listed = (JSON.parse((await cli(["client", "list", "demo/default", "--json"])).out) as Array<Record<string, unknown>>).find(
      (c) => c.client_id === "keyed",
    );
    expect(listed).toMatchObject({ jwks: { keys: [expect.objectContaining({ kid: "k1", kty: "EC" })] }, jwks_uri: null });
    expect(JSON.stringify(listed)).not.toContain('"d"');
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
