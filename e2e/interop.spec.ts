import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { decode } from "next-auth/jwt";
import { E2E } from "./env.ts";
import { spawnNpmStart } from "../lib/scripts/start-command.ts";

// The login app against another authorization server: panva's oidc-provider with a password
// grant (e2e/interop/oidc-provider-password.mjs), started here as its own process, and a second
// production server of this app (from the build the suite already made) whose login app has
// OAUTH_ISSUER pointed at it. Once with opaque access tokens, once with JWT access tokens for an
// API (which oidc-provider refuses at UserInfo). Ports no other spec uses: 3120-3123.
const root = path.resolve(import.meta.dirname, "..");
const { ACCESS_TOKEN_TTL, ...settings } = E2E;
const CLIENT = { id: "interop-login", secret: "interop-login-secret-0123456789abcdef" };
const PEER_BASIC = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString("base64")}`;

async function until(what: string, up: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await up().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not start`);
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

for (const [format, peerPort, appPort] of [
  ["opaque", 3120, 3121],
  ["jwt", 3122, 3123],
] as const) {
  const issuer = `http://127.0.0.1:${peerPort}`;
  const app = `http://127.0.0.1:${appPort}`;
  const database = path.join(root, "e2e", ".data", `interop-${format}.db`);

  test.describe(`the login app against oidc-provider with ${format} access tokens`, () => {
    test.describe.configure({ mode: "serial", timeout: 120_000 });
    test.use({ baseURL: app });

    let peer: ChildProcess | undefined;
    let server: ChildProcess | undefined;

    test.beforeAll(async () => {
      peer = spawn(process.execPath, [path.join(root, "e2e", "interop", "oidc-provider-password.mjs")], {
        cwd: root,
        env: { ...process.env, PORT: String(peerPort), ACCESS_TOKEN_FORMAT: format, ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL) },
        stdio: "ignore",
      });
      await until("oidc-provider", async () => (await fetch(`${issuer}/.well-known/openid-configuration`)).ok);

      const env = {
        ...process.env,
        ...settings,
        NODE_ENV: "production" as const,
        PORT: String(appPort),
        APP_URL: app,
        DATABASE_URL: `file:${database}`,
        OAUTH_ISSUER: issuer,
        LOGIN_CLIENT_ID: CLIENT.id,
        LOGIN_CLIENT_SECRET: CLIENT.secret,
      };
      fs.rmSync(database, { force: true });
      expect(spawnSync(process.execPath, [path.join(root, "prisma", "cli.mjs"), "migrate", "deploy"], { cwd: root, env, stdio: "ignore" }).status).toBe(0);
      server = spawnNpmStart(root, env);
      await until("the login app", async () => (await fetch(`${app}/login`)).ok);
    });

    test.afterAll(async () => {
      await Promise.all([stop(server), stop(peer)]);
      for (const suffix of ["", "-journal", "-wal", "-shm"]) fs.rmSync(`${database}${suffix}`, { force: true });
    });

    /** The tokens inside the encrypted session cookie, read with the login app's secret. */
    async function sessionTokens(page: Page) {
      const cookie = (await page.context().cookies()).find((c) => c.name === "next-auth.session-token");
      expect(cookie, "session cookie").toBeDefined();
      return (await decode({ token: cookie!.value, secret: E2E.NEXTAUTH_SECRET }))!.tokens!;
    }

    /** What oidc-provider says of a token, asked as the login app's client (RFC 7662). */
    async function introspect(token: string): Promise<Record<string, unknown>> {
      const res = await fetch(`${issuer}/token/introspection`, {
        method: "POST",
        headers: { Authorization: PEER_BASIC },
        body: new URLSearchParams({ token }),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    }

    async function signIn(page: Page) {
      await page.goto("/login");
      await page.getByLabel("Username").fill("ada");
      await page.getByLabel("Password").fill("ada-password-1");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page).toHaveURL(`${app}/account`);
    }

    test("ada signs in through the form and /account shows her and her tokens", async ({ page }) => {
      await signIn(page);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Ada Lovelace");
      await expect(page.getByTestId("account-email")).toHaveText("ada@interop.example");
      const idClaims = JSON.parse((await page.getByTestId("id-token-claims").textContent()) ?? "{}");
      expect(idClaims).toMatchObject({ iss: issuer, aud: CLIENT.id, sub: "ada-0001", email: "ada@interop.example" });
      expect(JSON.parse((await page.getByTestId("id-token-header").textContent()) ?? "{}").alg).toBe("RS256");
      if (format === "jwt") {
        await expect(page.getByTestId("access-token-header")).toContainText('"typ": "at+jwt"');
        const claims = JSON.parse((await page.getByTestId("access-token-claims").textContent()) ?? "{}");
        expect(claims).toMatchObject({ iss: issuer, aud: "https://api.interop.example/", client_id: CLIENT.id, sub: "ada-0001", scope: "api:read" });
      } else {
        await expect(page.getByTestId("access-token-opaque")).toHaveText("An opaque token: the authorization server gives it no contents a client can read.");
        await expect(page.getByTestId("access-token-claims")).toHaveCount(0);
      }
      await expect(page.getByTestId("access-token-countdown")).toHaveText(/^\d+ s$|^expired$/);
      // oidc-provider has no MFA API: the section says so, and the page works.
      await expect(page.getByTestId("two-step-status")).toHaveText("The state of two-step verification cannot be read right now.");
      // Our end-user headers went to no request: this issuer is on another origin (LOGIN_FORWARD_END_USER=auto).
      expect(await (await fetch(`${issuer}/test/forwarded-headers`)).json()).toEqual({ count: 0 });
    });

    test("the session refreshes silently past the access token's expiry, with the tokens rotated", async ({ page }) => {
      await signIn(page);
      const before = await sessionTokens(page);
      expect(await introspect(before.refreshToken!)).toMatchObject({ active: true, client_id: CLIENT.id, sub: "ada-0001" });
      await page.waitForTimeout((ACCESS_TOKEN_TTL + 1) * 1000);
      await page.reload();
      await expect(page).toHaveURL(`${app}/account`);
      await expect(page.getByRole("heading", { level: 1 })).toHaveText("Ada Lovelace");
      const after = await sessionTokens(page);
      expect(after.accessToken).not.toBe(before.accessToken);
      expect(after.refreshToken).not.toBe(before.refreshToken);
      expect(after.expiresAt).toBeGreaterThan(before.expiresAt);
      // oidc-provider rotates refresh tokens: the old one is spent, the new one lives.
      expect(await introspect(before.refreshToken!)).toEqual({ active: false });
      expect((await introspect(after.refreshToken!)).active).toBe(true);
      if (format === "jwt") {
        const claims = JSON.parse((await page.getByTestId("access-token-claims").textContent()) ?? "{}");
        expect(claims.jti).not.toBe(JSON.parse(Buffer.from(before.accessToken.split(".")[1]!, "base64url").toString()).jti);
      } else {
        await expect(page.getByTestId("access-token-opaque")).toBeAttached();
      }
    });

    test("sign-out revokes the refresh token at oidc-provider", async ({ page }) => {
      await signIn(page);
      const { refreshToken } = await sessionTokens(page);
      expect((await introspect(refreshToken!)).active).toBe(true);
      await page.getByRole("button", { name: "Sign out" }).click();
      await expect(page).toHaveURL(`${app}/login?reason=signed_out`);
      await expect(page.getByTestId("login-message")).toHaveText("You have signed out.");
      expect(await introspect(refreshToken!)).toEqual({ active: false });
      const refresh = await fetch(`${issuer}/token`, {
        method: "POST",
        headers: { Authorization: PEER_BASIC },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken! }),
      });
      expect(refresh.status).toBe(400);
      expect(((await refresh.json()) as { error: string }).error).toBe("invalid_grant");
      await page.goto("/account");
      await expect(page).toHaveURL(`${app}/login`);
    });

    test("a wrong password at oidc-provider is the generic message", async ({ page }) => {
      await page.goto("/login");
      await page.getByLabel("Username").fill("ada");
      await page.getByLabel("Password").fill("wrong-password");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect(page.getByTestId("login-message")).toHaveText("Invalid username or password");
      await expect(page).toHaveURL(/\/login/);
    });
  });
}
