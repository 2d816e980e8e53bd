import nextEnv from "@next/env";

/**
 * The project's env files (`.env`, `.env.local`, `.env.{mode}`, `.env.{mode}.local`), loaded
 * into `process.env` the way Next loads them (its own package, @next/env): variables the
 * environment sets win over the files. Next loads them when its server is made, which is after
 * the server has read its settings; so every entry point loads them first, and the
 * authorization server, the login app, the migrations and the CLI read the same settings.
 * `production` picks the mode's files (`.env.production`; else `.env.development`). Returns the
 * files it read, for the start's log.
 */
export function loadEnvFiles(production: boolean): string[] {
  const quiet = { info: () => undefined, error: (...args: unknown[]) => process.stderr.write(`${args.map(String).join(" ")}\n`) };
  return nextEnv.loadEnvConfig(process.cwd(), !production, quiet).loadedEnvFiles.map((file) => file.path);
}
