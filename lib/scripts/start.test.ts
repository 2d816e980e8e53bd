import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { randomBytes, randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { seal } from "@/lib/platform/at-rest.ts";
import { settings } from "@/lib/platform/env.ts";
import { backupSqlite } from "@/lib/platform/sqlite-backup.ts";
import { startOtlpReceiver } from "@/lib/testing/otlp-receiver.ts";

const root = path.resolve(import.meta.dirname, "../..");
const tsx = path.join(root, "node_modules", ".bin", "tsx");

function start(env: Record<string, string>) {
  const { PATH, HOME } = process.env;
  return spawnSync(tsx, ["lib/scripts/start.ts"], { cwd: root, env: { PATH, HOME, NODE_ENV: "production", ...env }, encoding: "utf8", timeout: 20_000 });
}

const complete = {
  APP_URL: "https://login.example.com",
  NEXTAUTH_SECRET: "start-test-nextauth-secret-0123456789",
  LOGIN_CLIENT_SECRET: "start-test-login-client-secret-01",
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
      "  - Invalid setting PORT: must be a whole number from 1 to 65535 (3000 when unset).",
      "  - APP_URL must be an https URL in production (http only for localhost).",
    ]);
  });

  it("says in plain words when the database cannot be read", () => {
    const result = start({ ...complete, DATABASE_URL: `file:${path.join(root, "package.json")}` });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`Cannot start: ${path.join(root, "package.json")} is not an SQLite database: check DATABASE_URL.`);
  });

  it("refuses a bad OTLP endpoint, naming the setting", () => {
    const result = start({ ...complete, OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "  - Invalid setting OTEL_EXPORTER_OTLP_ENDPOINT: must be the http(s) URL of an OTLP/HTTP receiver, e.g. http://localhost:4318 (a collector); unset it to send no traces.",
    );
  });

  it("sets traces up itself (the OAuth paths never pass through Next's hook) and flushes them on the way out", async () => {
    const receiver = await startOtlpReceiver();
    try {
      const { PATH, HOME } = process.env;
      const env = {
        PATH,
        HOME,
        NODE_ENV: "production" as const,
        ...complete,
        DATABASE_URL: `file:${path.join(root, "package.json")}`,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      };
      // Asynchronously: the receiver answers from this process.
      const failed = await promisify(execFile)(tsx, ["lib/scripts/start.ts"], { cwd: root, env, timeout: 20_000 }).catch(
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining("is not an SQLite database") });
      expect(receiver.resourceAttributes()["service.name"]).toBe("ropc-login-kit");
      expect(receiver.spans()).toEqual([expect.objectContaining({ name: "migrations", parentSpanId: "", statusCode: 2 })]);
    } finally {
      await receiver.close();
    }
  });
});

describe("npm start on a database whose secrets are sealed", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-sealed-start-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sealedWith = randomBytes(32);

  /** A copy of the test database with one more signing key, its private part sealed under `sealedWith`. */
  async function sealedDatabase(): Promise<string> {
    const file = path.join(dir, `sealed-${randomUUID()}.db`);
    await backupSqlite(settings().databaseFile ?? "", file);
    const copy = new Database(file);
    try {
      copy
        .prepare(`INSERT INTO "SigningKey" ("kid", "alg", "publicJwk", "privateJwk", "activeFrom", "createdAt") VALUES (?, 'ES256', '{}', ?, ?, ?)`)
        .run("sealed-kid", seal('{"kty":"EC"}', "SigningKey:sealed-kid", sealedWith), Date.now(), Date.now());
    } finally {
      copy.close();
    }
    return file;
  }

  it.runIf(settings().databaseFile !== undefined).each([
    ["without KEY_ENCRYPTION_KEY", {}, "SigningKey:sealed-kid is sealed, and KEY_ENCRYPTION_KEY is not set: set it to the key it was sealed with"],
    [
      "with another KEY_ENCRYPTION_KEY",
      { KEY_ENCRYPTION_KEY: randomBytes(32).toString("base64") },
      "SigningKey:sealed-kid was sealed with another KEY_ENCRYPTION_KEY",
    ],
  ])("refuses to start %s, naming the setting, before serving anything", async (_name, key, message) => {
    const result = start({ ...complete, DATABASE_URL: `file:${await sealedDatabase()}`, ...key });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`Cannot start: ${message}`);
    expect(result.stdout).not.toContain("Ready on");
  });
});

describe("npm start with env files", () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The launcher run from a folder of its own that holds `files` (npm runs it from the project's). */
  function startWith(files: Record<string, string>, env: Record<string, string> = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ropc-env-files-"));
    folders.push(dir);
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    fs.symlinkSync(path.join(root, "prisma"), path.join(dir, "prisma"));
    const { PATH, HOME } = process.env;
    const script = path.join(root, "lib", "scripts", "start.ts");
    return spawnSync(tsx, ["--tsconfig", path.join(root, "tsconfig.json"), script], {
      cwd: dir,
      env: { PATH, HOME, NODE_ENV: "production", ...env },
      encoding: "utf8",
      timeout: 20_000,
    });
  }

  const lines = (settings: Record<string, string>) =>
    Object.entries(settings)
      .map(([k, v]) => `${k}=${v}\n`)
      .join("");

  it("reads the settings in .env and .env.production, as Next does for the login app: one set for the whole server", () => {
    const notADatabase = path.join(root, "package.json");
    const result = startWith({
      ".env": lines({ ...complete, DATABASE_URL: `file:${notADatabase}`, NEXTAUTH_SECRET: "" }),
      ".env.production": lines({ NEXTAUTH_SECRET: "start-test-nextauth-secret-0123456789" }),
    });
    // Past the settings, to the database the files name.
    expect(result.stderr).toBe(`Cannot start: ${notADatabase} is not an SQLite database: check DATABASE_URL.\n`);
    expect(result.stdout).toContain("Settings: the environment's, then .env.production, .env\n");
    expect(result.status).toBe(1);
  });

  it("refuses a bad setting in an env file at start, naming it", () => {
    const result = startWith({ ".env.production": lines({ TRUST_PROXY: "true" }) }, complete);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("Cannot start: 1 setting(s) to fix:\n  - Invalid setting TRUST_PROXY: ");
  });

  it("lets the environment win over the files", () => {
    const result = startWith({ ".env": lines({ ...complete, APP_URL: "http://login.example.com" }) }, { APP_URL: "https://login.example.com" });
    expect(result.stderr).not.toContain("APP_URL");
    expect(result.status).toBe(1);
  });
});
