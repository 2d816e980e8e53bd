import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");

function start(env: Record<string, string>) {
  const { PATH, HOME } = process.env;
  return spawnSync(tsx, ["lib/scripts/start.ts"], { cwd: root, env: { PATH, HOME, NODE_ENV: "production", ...env }, encoding: "utf8", timeout: 20_000 });
}

const complete = {
  APP_URL: "https://login.example.com",
  NEXTAUTH_SECRET: "n".repeat(32),
  LOGIN_CLIENT_SECRET: "l".repeat(32),
  DATABASE_URL: "file:/nonexistent/never-created.db",
};

describe("npm start", () => {
  it.each(["APP_URL", "NEXTAUTH_SECRET", "LOGIN_CLIENT_SECRET"])("refuses to start without %s, naming it, before touching the database", (name) => {
    const result = start({ ...complete, [name]: "" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`Cannot start: ${name} is required in production`);
    expect(result.stdout).not.toContain("migration");
  });
});
