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
  it.each(["APP_URL", "DATABASE_URL", "NEXTAUTH_SECRET", "LOGIN_CLIENT_SECRET"])(
    "refuses to start without %s, naming it, before touching the database",
    (name) => {
      const result = start({ ...complete, [name]: "" });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("Cannot start: 1 setting(s) to fix:");
      expect(result.stderr).toContain(`  - ${name} is required in production: `);
      expect(result.stdout).not.toContain("migration");
    },
  );

  it("lists every missing and invalid setting in one go", () => {
    const result = start({ PORT: "70000", APP_URL: "http://login.example.com" });
    expect(result.status).toBe(1);
    expect(result.stderr.split("\n").filter((line) => line.startsWith("  - "))).toEqual([
      expect.stringMatching(/^ {2}- DATABASE_URL is required in production: /),
      expect.stringMatching(/^ {2}- NEXTAUTH_SECRET is required in production: /),
      expect.stringMatching(/^ {2}- LOGIN_CLIENT_SECRET is required in production: /),
      "  - Invalid setting PORT: Too big: expected number to be <=65535.",
      "  - APP_URL must be an https URL in production (http only for localhost).",
    ]);
  });

  it("says in plain words when the database cannot be read", () => {
    const result = start({ ...complete, DATABASE_URL: `file:${path.join(root, "package.json")}` });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`Cannot start: ${path.join(root, "package.json")} is not an SQLite database: check DATABASE_URL.`);
  });
});
