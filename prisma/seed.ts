import { pathToFileURL } from "node:url";
import { db, type Db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";
import { passwordViolation } from "@/lib/platform/password-policy.ts";
import { hashClientSecret, verifyClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { ensureSigningKey } from "@/lib/oauth/store/signing-keys.ts";
import { recoveryCodeHash } from "@/lib/oauth/mfa/recovery-codes.ts";

/**
 * The demo data: tenant `demo`, workspace `default`, four users (dave with a TOTP second factor)
 * and four clients. Tests, the README and outside checks rely on these names and secrets.
 */
export const DEMO = {
  tenant: "demo",
  workspace: "default",
  users: [
    { username: "alice", password: "alice-password-1", email: "alice@example.com", name: "Alice Example", disabled: false },
    { username: "bob", password: "bob-password-1", email: "bob@example.com", name: "Bob Example", disabled: false },
    { username: "carol", password: "carol-password-1", email: "carol@example.com", name: "Carol Example", disabled: true },
    { username: "dave", password: "dave-password-1", email: "dave@example.com", name: "Dave Example", disabled: false },
  ],
  /** Dave's confirmed TOTP factor and its recovery codes (listed in the README). */
  dave: {
    totpSecret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    recoveryCodes: [
      "G2UM-NT2W-VPRM-V5KE",
      "2LFW-SWPN-7KYP-DRBS",
      "6BI5-P6P5-LPCD-UK5E",
      "DRTD-2SIA-VUVI-PUGI",
      "JDQ7-VTMK-ZJG3-BS5T",
      "BKZN-GWWS-AD2I-FYMS",
      "MPAC-F7YC-OKJ7-B7SW",
      "CEM5-CC3O-XBLC-WFUS",
      "2B27-FD6G-3RNS-IXDL",
      "BHNL-MUOE-ZT27-MJOE",
    ],
  },
} as const;

/** The grants of a demo client that signs users in: the password, its two MFA steps, refreshes. */
const SIGN_IN_GRANTS = "password http://auth0.com/oauth/grant-type/mfa-otp http://auth0.com/oauth/grant-type/mfa-recovery-code refresh_token";

const USER_SCOPES = "openid profile email offline_access";

/** The browser origins demo-spa may call from (a Vite dev server, say). */
export const DEMO_SPA_ORIGINS = "http://localhost:5173 http://127.0.0.1:5173";

function demoClients(loginClientSecret: string) {
  return [
    {
      clientId: "demo-spa",
      name: "Demo SPA (public)",
      secret: null,
      type: "public",
      authMethods: "none",
      grantTypes: SIGN_IN_GRANTS,
      scopes: USER_SCOPES,
      // A browser app served by a local dev server may call the endpoints (CORS).
      allowedOrigins: DEMO_SPA_ORIGINS,
    },
    {
      clientId: "demo-backend",
      name: "Demo backend",
      secret: "demo-backend-secret",
      authMethods: "client_secret_basic client_secret_post",
      grantTypes: SIGN_IN_GRANTS,
      scopes: `${USER_SCOPES} introspect_tokens revoke_tokens`,
    },
    {
      clientId: "demo-service",
      name: "Demo service",
      secret: "demo-service-secret",
      authMethods: "client_secret_basic",
      grantTypes: "client_credentials",
      scopes: "introspect_tokens revoke_tokens register_clients",
      // Registering clients is asked for by name (scope=register_clients), never given by default.
      defaultScopes: "introspect_tokens revoke_tokens",
    },
    {
      clientId: "demo-web",
      name: "Login web app",
      secret: loginClientSecret,
      authMethods: "client_secret_basic",
      grantTypes: SIGN_IN_GRANTS,
      // `account`: its /account page manages the user's own sessions, password and profile.
      scopes: `${USER_SCOPES} account`,
      // Signs users in from its server: trusted to pass their addresses to the brute-force defence.
      forwardsEndUserIp: true,
      // Password-reset links lead to the login app's page.
      passwordResetUri: `${settings().APP_URL}/reset-password`,
    },
  ];
}

/**
 * Creates what is missing of the demo data and brings the demo clients' settings back to theirs.
 * Users that exist are left alone (their passwords may have been changed on purpose).
 */
export async function seedDemo(client: Db = db(), loginClientSecret = settings().LOGIN_CLIENT_SECRET ?? "demo-web-secret"): Promise<void> {
  const tenant = await client.tenant.upsert({
    where: { slug: DEMO.tenant },
    update: {},
    create: { slug: DEMO.tenant, name: "Demo tenant" },
  });
  const workspace = await client.workspace.upsert({
    where: { tenantId_slug: { tenantId: tenant.id, slug: DEMO.workspace } },
    update: {},
    create: { tenantId: tenant.id, slug: DEMO.workspace, name: "Default workspace" },
  });
  for (const user of DEMO.users) {
    const key = { workspaceId_username: { workspaceId: workspace.id, username: user.username } };
    if (await client.user.findUnique({ where: key })) continue;
    // The demo passwords are public, but they pass the policy every password set must pass.
    const violation = await passwordViolation(user.password, { minLength: workspace.passwordMinLength }, user);
    if (violation) throw new Error(`The demo password of ${user.username} breaks the password policy: ${violation.description}`);
    const created = await client.user.create({
      data: {
        workspaceId: workspace.id,
        username: user.username,
        passwordHash: await hashPassword(user.password),
        email: user.email,
        emailVerified: true,
        name: user.name,
        disabled: user.disabled,
      },
    });
    if (user.username === "dave") {
      await client.mfaFactor.create({
        data: {
          userId: created.id,
          type: "otp",
          secret: DEMO.dave.totpSecret,
          confirmedAt: new Date(),
          recoveryCodes: { create: DEMO.dave.recoveryCodes.map((code) => ({ codeHash: recoveryCodeHash(code) })) },
        },
      });
    }
  }
  for (const { secret, ...demo } of demoClients(loginClientSecret)) {
    const key = { workspaceId_clientId: { workspaceId: workspace.id, clientId: demo.clientId } };
    const existing = await client.client.findUnique({ where: key });
    const keepHash = secret !== null && existing?.secretHash && verifyClientSecret(existing.secretHash, secret);
    const secretHash = secret === null ? null : keepHash ? existing.secretHash : hashClientSecret(secret);
    await client.client.upsert({
      where: key,
      update: { ...demo, secretHash },
      create: { ...demo, secretHash, workspaceId: workspace.id },
    });
  }
  await ensureSigningKey(client);
}

/** True when the database holds no tenant at all (a fresh database). */
export async function isEmpty(client: Db = db()): Promise<boolean> {
  return (await client.tenant.count()) === 0;
}

// `prisma db seed` / `npm run db:seed`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await seedDemo();
  await db().$disconnect();
  process.stdout.write("Seeded the demo data (tenant demo, workspace default).\n");
}
