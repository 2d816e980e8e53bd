// The end-to-end server: a fresh database with the demo data (demo-web's access tokens made
// short-lived), then `next build` and the production server, as `npm start` runs it.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {
  ACCOUNT_USERS,
  E2E,
  LOCKOUT_USERS,
  LONG_DETAILS_MFA_USER,
  LONG_DETAILS_USER,
  MFA_USERS,
  RECOVERY_PASSWORD,
  RECOVERY_USERS,
  SHOTS_USER,
} from "./env.ts";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const { ACCESS_TOKEN_TTL, ...settings } = E2E;
Object.assign(process.env, settings, { NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1" });

fs.rmSync(path.join(root, "e2e", ".data"), { recursive: true, force: true });
const { runPrisma } = await import("../prisma/cli.mjs");
if (runPrisma(["migrate", "deploy"], { stdio: "ignore" }) !== 0) throw new Error("migrate deploy failed");
const { seedDemo } = await import("../prisma/seed.ts");
const { db } = await import("@/lib/platform/db.ts");
await seedDemo();
await db().client.updateMany({ where: { clientId: "demo-web" }, data: { accessTokenTtl: ACCESS_TOKEN_TTL } });
// One user per two-step verification test (e2e/mfa.spec.ts): a TOTP code works once per window.
const { addUser } = await import("@/lib/admin/users.ts");
for (const username of [...MFA_USERS, ...LOCKOUT_USERS, SHOTS_USER, ...ACCOUNT_USERS]) {
  await addUser({ workspace: "demo/default", username, password: `${username}-password-1`, email: `${username}@example.com`, name: `${username} Example` });
}
for (const user of [LONG_DETAILS_USER, LONG_DETAILS_MFA_USER]) await addUser({ workspace: "demo/default", ...user, password: `${user.username}-password-1` });
// One user per password-recovery test (e2e/recovery.spec.ts): each ends with another password.
for (const username of RECOVERY_USERS) {
  await addUser({ workspace: "demo/default", username, password: RECOVERY_PASSWORD, email: `${username}@example.com`, name: `${username} Example` });
}
await db().$disconnect();

// Without Next's own type check: `npm test` has run tsc over the same files before this suite.
const built = spawnSync(process.execPath, [path.join(root, "lib", "scripts", "build.mjs")], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, SKIP_BUILD_TYPECHECK: "1" },
});
if (built.status !== 0) throw new Error("the production build (lib/scripts/build.mjs) failed");

const { serve } = await import("@/lib/scripts/serve.ts");
await serve({ dev: false });
