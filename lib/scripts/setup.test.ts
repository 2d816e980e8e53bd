import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { verifyClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { setup } from "@/lib/scripts/setup.ts";

const env = { ...process.env, OAUTH_ISSUER: "http://localhost:3000/acme/main", LOGIN_CLIENT_ID: "acme-web", LOGIN_CLIENT_SECRET: "" };
const storedHash = async () => (await db().client.findFirst({ where: { clientId: "acme-web", workspace: { slug: "main" } } }))?.secretHash ?? "";

describe("npm run setup", () => {
  it("creates the login app's workspace and client, prints a new secret once, and is safe to run again", async () => {
    const first = await setup(env);
    expect(first.lines).toEqual([
      "Database: up to date",
      "Workspace acme/main: created; its issuer is http://localhost:3000/acme/main",
      "Client acme-web: created with a new secret",
      "Signing key: available",
    ]);
    expect(first.newSecret).toMatch(/^[\w-]{43}$/);
    expect(verifyClientSecret(await storedHash(), first.newSecret ?? "")).toBe(true);
    const client = await db().client.findFirst({ where: { clientId: "acme-web" } });
    expect(client).toMatchObject({
      type: "confidential",
      grantTypes: "password refresh_token",
      scopes: "openid profile email offline_access",
      forwardsEndUserIp: true,
    });

    const again = await setup(env);
    expect(again.lines.slice(1, 3)).toEqual([
      "Workspace acme/main: exists",
      "Client acme-web: exists; its secret is unchanged (LOGIN_CLIENT_SECRET is not set)",
    ]);
    expect(again.newSecret).toBeUndefined();
    expect(verifyClientSecret(await storedHash(), first.newSecret ?? "")).toBe(true);

    const chosen = "operator-chosen-secret-0123456789";
    expect((await setup({ ...env, LOGIN_CLIENT_SECRET: chosen })).lines[2]).toBe("Client acme-web: exists; its secret is now LOGIN_CLIENT_SECRET");
    expect((await setup({ ...env, LOGIN_CLIENT_SECRET: chosen })).lines[2]).toBe("Client acme-web: exists, with LOGIN_CLIENT_SECRET as its secret");
    expect(verifyClientSecret(await storedHash(), chosen)).toBe(true);
  });

  it("takes LOGIN_CLIENT_SECRET for a new client and prints no secret", async () => {
    const result = await setup({ ...env, LOGIN_CLIENT_ID: "acme-web-2", LOGIN_CLIENT_SECRET: "given-secret-0123456789" });
    expect(result.lines[2]).toBe("Client acme-web-2: created with LOGIN_CLIENT_SECRET as its secret");
    expect(result.newSecret).toBeUndefined();
  });

  it("refuses an issuer that is not one of this app's workspaces, naming OAUTH_ISSUER", async () => {
    await expect(setup({ ...env, OAUTH_ISSUER: "https://idp.example.com/t/w" })).rejects.toThrow(
      /^OAUTH_ISSUER \(https:\/\/idp\.example\.com\/t\/w\) is not a workspace of this app/,
    );
  });

  it("says what an admin rule refused, in one line and without a stack trace, and ends with status 1", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const { PATH, HOME, DATABASE_URL } = process.env;
    const result = spawnSync(path.join(root, "node_modules", ".bin", "tsx"), ["lib/scripts/setup.ts"], {
      cwd: root,
      // A workspace name in capitals: the workspace rules refuse it.
      env: { PATH, HOME, DATABASE_URL, NODE_ENV: "development", OAUTH_ISSUER: "http://localhost:3000/Acme/Main", LOGIN_CLIENT_ID: "acme-web" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^Setup failed:\n {2}- \S.*\n$/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("lists every missing setting at once in production", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const { PATH, HOME } = process.env;
    const result = spawnSync(path.join(root, "node_modules", ".bin", "tsx"), ["lib/scripts/setup.ts"], {
      cwd: root,
      env: { PATH, HOME, NODE_ENV: "production" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n").filter((l) => l.startsWith("  - "))).toEqual([
      expect.stringMatching(/^ {2}- APP_URL is required in production: /),
      expect.stringMatching(/^ {2}- DATABASE_URL is required in production: /),
    ]);
  });
});
