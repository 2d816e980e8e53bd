// `npm run setup`: the first run of a production deployment, safe to run again. Applies the
// migrations, creates the login app's workspace (from OAUTH_ISSUER's path) and its client
// (LOGIN_CLIENT_ID) when missing, stores LOGIN_CLIENT_SECRET as that client's secret (or makes
// one and prints it once), and makes sure a signing key exists. It never seeds demo data.
import { assertProductionSettings, ConfigError, parseSettings, type Env } from "@/lib/platform/env.ts";
import { applyPendingMigrations, MigrationFailure } from "@/lib/scripts/migrate.ts";
import { AdminError } from "@/lib/admin/errors.ts";

export interface SetupResult {
  lines: string[];
  /** A secret made by this run, to store as LOGIN_CLIENT_SECRET (printed once). */
  newSecret?: string;
}

/** The workspace (`tenant/workspace`) of the login app's issuer, when it is this app's own. */
export function loginWorkspace(appUrl: string, issuer: string): string {
  const url = new URL(issuer);
  const segments = url.pathname.split("/").filter(Boolean);
  if (url.origin !== new URL(appUrl).origin || segments.length !== 2) {
    throw new ConfigError(
      `OAUTH_ISSUER (${issuer}) is not a workspace of this app (${appUrl}/{tenant}/{workspace}): register LOGIN_CLIENT_ID at that server yourself, or set OAUTH_ISSUER=${appUrl}/{tenant}/{workspace}.`,
    );
  }
  return segments.join("/");
}

export async function setup(env: Env = process.env): Promise<SetupResult> {
  // NEXTAUTH_SECRET is the server's, and LOGIN_CLIENT_SECRET may be made here.
  if (env.NODE_ENV === "production") assertProductionSettings(env, ["APP_URL", "DATABASE_URL"]);
  const s = parseSettings(env);
  const lines: string[] = [];
  const applied = await applyPendingMigrations({ databaseUrl: s.DATABASE_URL, busyTimeoutSeconds: s.DATABASE_BUSY_TIMEOUT_SECONDS, out: (l) => lines.push(l) });
  if (applied.length === 0) lines.push("Database: up to date");
  const issuer = s.OAUTH_ISSUER ?? `${s.APP_URL}/demo/default`;
  const ref = loginWorkspace(s.APP_URL, issuer);
  // Loaded after the settings are known good: these modules read them.
  const { db } = await import("@/lib/platform/db.ts");
  const { createWorkspace, workspaceByRef } = await import("@/lib/admin/workspaces.ts");
  const { ensureLoginClient } = await import("@/lib/admin/clients.ts");
  const { ensureSigningKey } = await import("@/lib/oauth/store/signing-keys.ts");
  try {
    const exists = await workspaceByRef(ref).then(
      () => true,
      () => false,
    );
    if (exists) lines.push(`Workspace ${ref}: exists`);
    else {
      await createWorkspace({ ref });
      lines.push(`Workspace ${ref}: created; its issuer is ${issuer}`);
    }
    const client = await ensureLoginClient(ref, s.LOGIN_CLIENT_ID, s.LOGIN_CLIENT_SECRET);
    lines.push(`Client ${s.LOGIN_CLIENT_ID}: ${client.outcome}`);
    await ensureSigningKey();
    lines.push("Signing key: available");
    return { lines, newSecret: client.secret };
  } finally {
    await db().$disconnect();
  }
}

if (process.argv[1]?.endsWith("setup.ts")) {
  try {
    const { loadEnvFiles } = await import("@/lib/scripts/env-files.ts");
    loadEnvFiles(process.env.NODE_ENV === "production");
    const { lines, newSecret } = await setup();
    for (const line of lines) process.stdout.write(`${line}\n`);
    if (newSecret) {
      process.stdout.write(`\nLOGIN_CLIENT_SECRET=${newSecret}\n(shown once: set it in the server's environment now; it is stored only hashed)\n`);
    }
    process.stdout.write("Setup done.\n");
  } catch (err) {
    if (!(err instanceof ConfigError || err instanceof MigrationFailure || err instanceof AdminError)) throw err;
    const problems = err instanceof ConfigError ? err.problems : [err.message];
    process.stderr.write(`Setup failed:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
    process.exit(1);
  }
}
