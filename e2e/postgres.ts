// Fresh PostgreSQL databases on the suite's server: for the specs that run production servers on
// one (the balancer and instances specs), and for the benchmark's PostgreSQL run.
import { spawnSync } from "node:child_process";
import path from "node:path";
import pg from "pg";

const root = path.resolve(import.meta.dirname, "..");

/** A fresh database `name` on the PostgreSQL server at `server` (dropped first if there), its URL. */
export async function freshDatabase(server: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return Object.assign(new URL(server), { pathname: `/${name}` }).toString();
}

/** The same, migrated and seeded with the demo data, `env(url)` the environment of both steps. */
export async function freshSeededDatabase(server: string, name: string, env: (url: string) => NodeJS.ProcessEnv): Promise<string> {
  const url = await freshDatabase(server, name);
  for (const step of [
    ["prisma/cli.mjs", "migrate", "deploy"],
    ["--import", "tsx", "prisma/seed.ts"],
  ]) {
    const done = spawnSync(process.execPath, step, { cwd: root, env: env(url), encoding: "utf8" });
    if (done.status !== 0) throw new Error(`${step.join(" ")} failed on ${name}: ${done.stderr}`);
  }
  return url;
}
