import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { assertProductionSettings, ConfigError, parseSettings, productionProblems, SETTING_NAMES } from "@/lib/platform/env.ts";
import { strictTransportSecurity } from "@/lib/platform/security-headers.mjs";

const production = {
  NODE_ENV: "production",
  APP_URL: "https://login.example.com",
  NEXTAUTH_SECRET: "nextauth-secret-0123456789abcdefgh",
  LOGIN_CLIENT_SECRET: "login-client-secret-0123456789",
  DATABASE_URL: "file:/var/lib/ropc/ropc.db",
} as const;

describe("settings", () => {
  it("needs nothing in development", () => {
    const s = parseSettings({ NODE_ENV: "development" });
    expect(s.APP_URL).toBe("http://localhost:3000");
    expect(s.databaseFile).toMatch(/prisma\/data\/dev\.db$/);
  });

  it("derives APP_URL from PORT and drops a trailing slash", () => {
    expect(parseSettings({ PORT: "4000" }).APP_URL).toBe("http://localhost:4000");
    expect(parseSettings({ APP_URL: "https://a.example/" }).APP_URL).toBe("https://a.example");
  });

  it.each([
    ["HTTPS://login.example.com", "https://login.example.com"],
    ["https://Login.Example.com", "https://login.example.com"],
    ["https://login.example.com:443", "https://login.example.com"],
    ["http://localhost:80", "http://localhost"],
    ["https://login.example.com\\x", "https://login.example.com"],
  ])("refuses APP_URL=%s, not written as the origin it is (every https and same-origin check compares it), naming %s", (value, origin) => {
    expect(() => parseSettings({ APP_URL: value })).toThrow(
      new ConfigError(
        `Invalid setting APP_URL: ${value} is not written as the origin it is, ${origin} (scheme and host in lower case, no default port, no path): set APP_URL=${origin}.`,
      ),
    );
  });

  it("takes APP_URL written as its origin, with or without a trailing slash", () => {
    expect(parseSettings({ APP_URL: "https://login.example.com/" }).APP_URL).toBe("https://login.example.com");
    expect(parseSettings({ APP_URL: "http://localhost:3100" }).APP_URL).toBe("http://localhost:3100");
    expect(parseSettings({ APP_URL: "http://[::1]:3100" }).APP_URL).toBe("http://[::1]:3100");
    expect(strictTransportSecurity(parseSettings({ APP_URL: "https://login.example.com" }).APP_URL)).toEqual({
      key: "Strict-Transport-Security",
      value: "max-age=63072000; includeSubDomains",
    });
  });

  it.each(["APP_URL", "DATABASE_URL", "NEXTAUTH_SECRET", "LOGIN_CLIENT_SECRET"] as const)("refuses production without %s, naming it", (name) => {
    const env = { ...production, [name]: "" };
    expect(() => assertProductionSettings(env)).toThrow(new RegExp(`^${name} is required in production`));
  });

  it("lists every missing and invalid production setting at once, each with its fix", () => {
    expect(productionProblems({ NODE_ENV: "production", NEXTAUTH_SECRET: "short", PORT: "0", LOCKOUT_IP_LIMIT: "many" })).toEqual([
      "APP_URL is required in production: the public https origin of the app, e.g. APP_URL=https://login.example.com.",
      "DATABASE_URL is required in production: e.g. DATABASE_URL=file:/var/lib/ropc-login-kit/ropc.db (SQLite) or postgresql://user:password@host:5432/db?sslmode=verify-full.",
      "LOGIN_CLIENT_SECRET is required in production: the login app's client secret: `npm run setup` prints a new one, or stores the one you set.",
      "Invalid setting PORT: must be a whole number from 1 to 65535 (3000 when unset).",
      "Invalid setting NEXTAUTH_SECRET: must be at least 32 characters.",
      "Invalid setting LOCKOUT_IP_LIMIT: must be a whole number from 1 to 100000 (50 when unset).",
    ]);
    const error = (() => {
      try {
        assertProductionSettings({ NODE_ENV: "production" });
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.split(" ")[0])).toEqual(["APP_URL", "DATABASE_URL", "NEXTAUTH_SECRET", "LOGIN_CLIENT_SECRET"]);
    expect((error as Error).message).toMatch(/\nSee \.env\.example\.$/);
  });

  it("never falls back to the development database in production", () => {
    expect(productionProblems({ ...production, DATABASE_URL: "" })).toEqual([expect.stringMatching(/^DATABASE_URL is required in production/)]);
    expect(productionProblems({ ...production })).toEqual([]);
  });

  it("accepts a complete production environment", () => {
    expect(() => assertProductionSettings({ ...production })).not.toThrow();
    expect(() => assertProductionSettings({ ...production, APP_URL: "http://127.0.0.1:3100" })).not.toThrow();
  });

  it("refuses an http APP_URL in production except for localhost", () => {
    expect(() => assertProductionSettings({ ...production, APP_URL: "http://login.example.com" })).toThrow(/^APP_URL must be an https URL/);
  });

  it.each([
    [{ PORT: "abc" }, "Invalid setting PORT: must be a whole number from 1 to 65535 (3000 when unset)."],
    [{ PORT: "3000.5" }, "Invalid setting PORT: must be a whole number from 1 to 65535 (3000 when unset)."],
    [{ METRICS_PORT: "metrics" }, "Invalid setting METRICS_PORT: must be a whole number from 1 to 65535."],
    [
      { APP_URL: "https://login.example.com/login" },
      "Invalid setting APP_URL: must be the app's public origin, without a path, query or fragment, e.g. https://login.example.com.",
    ],
    [
      { APP_URL: "https://login.example.com?tenant=demo" },
      "Invalid setting APP_URL: must be the app's public origin, without a path, query or fragment, e.g. https://login.example.com.",
    ],
    [{ APP_URL: "login.example.com" }, "Invalid setting APP_URL: must be the app's public http(s) origin, e.g. https://login.example.com."],
    [
      { APP_URL: "https://admin:hunter2@login.example.com" },
      "Invalid setting APP_URL: must not hold a user name or password: it is published, e.g. https://login.example.com.",
    ],
    [
      { OAUTH_ISSUER: "https://login:hunter2@id.example.com/demo/default" },
      "Invalid setting OAUTH_ISSUER: must be the issuer's URL, without a user name, password, query or fragment, e.g. https://login.example.com/demo/default.",
    ],
    [
      { OAUTH_ISSUER: "https://id.example.com/demo/default?x=1" },
      "Invalid setting OAUTH_ISSUER: must be the issuer's URL, without a user name, password, query or fragment, e.g. https://login.example.com/demo/default.",
    ],
  ])("says what %j should be", (env, message) => {
    expect(() => parseSettings(env)).toThrow(new ConfigError([message]));
  });

  it("refuses METRICS_PORT equal to PORT, naming both (the second listener would fail, blaming PORT)", () => {
    expect(productionProblems({ ...production, PORT: "3900", METRICS_PORT: "3900" })).toEqual([
      "Invalid setting METRICS_PORT: 3900 is PORT too; the metrics listen on a port of their own: set another (or unset it, and set METRICS_TOKEN to serve /metrics on PORT).",
    ]);
    expect(productionProblems({ ...production, METRICS_PORT: "3000" })).toHaveLength(1);
    expect(productionProblems({ ...production, PORT: "3900", METRICS_PORT: "9464" })).toEqual([]);
  });

  it("refuses a key rotation delay shorter than a key cache plus the JWKS's max-age: a new key would sign before every verifier knows it", () => {
    expect(productionProblems({ ...production, KEY_CACHE_SECONDS: "900", KEY_ROTATION_DELAY_SECONDS: "600" })).toEqual([
      "Invalid setting KEY_ROTATION_DELAY_SECONDS: 600 s is shorter than a process's key cache (KEY_CACHE_SECONDS, 900 s) plus the JWKS's max-age (300 s): a new key would sign before every verifier knows it. Set it to at least 1200, or lower KEY_CACHE_SECONDS.",
    ]);
    expect(() => parseSettings({ KEY_ROTATION_DELAY_SECONDS: "359" })).toThrow(/at least 360/);
    expect(parseSettings({ KEY_ROTATION_DELAY_SECONDS: "360" }).KEY_ROTATION_DELAY_SECONDS).toBe(360);
    expect(parseSettings({}).KEY_ROTATION_DELAY_SECONDS).toBe(600);
  });

  it("takes an origin with a port, or with a trailing slash, as APP_URL", () => {
    expect(parseSettings({ APP_URL: "https://login.example.com:8443" }).APP_URL).toBe("https://login.example.com:8443");
    expect(parseSettings({ APP_URL: "http://127.0.0.1:3100/" }).APP_URL).toBe("http://127.0.0.1:3100");
  });

  it.each([
    [{ APP_URL: "not a url" }, /^Invalid setting APP_URL/],
    [{ APP_URL: "ftp://x.example" }, /^Invalid setting APP_URL/],
    [{ NEXTAUTH_SECRET: "short" }, /^Invalid setting NEXTAUTH_SECRET/],
    [{ DATABASE_URL: "mysql://x" }, /^Invalid setting DATABASE_URL/],
    [{ PORT: "70000" }, /^Invalid setting PORT/],
  ])("names the bad setting in %j", (env, message) => {
    expect(() => parseSettings(env)).toThrow(message);
  });

  // Each of these was taken without a word: a number JavaScript reads in another base or notation
  // (PORT=0x10 listened on port 16), a secret of one character repeated.
  it.each([
    ["PORT", "0x10", "must be a whole number from 1 to 65535 (3000 when unset)"],
    ["PORT", "1e3", "must be a whole number from 1 to 65535 (3000 when unset)"],
    ["PORT", "80.0", "must be a whole number from 1 to 65535 (3000 when unset)"],
    ["PORT", " 80", "must be a whole number from 1 to 65535 (3000 when unset)"],
    ["LOCKOUT_IP_LIMIT", "0b11", "must be a whole number from 1 to 100000 (50 when unset)"],
    ["METRICS_PORT", "0o17", "must be a whole number from 1 to 65535"],
  ])("takes %s only in decimal digits: %j is refused", (name, value, message) => {
    expect(() => parseSettings({ [name]: value })).toThrow(new ConfigError([`Invalid setting ${name}: ${message}.`]));
  });

  it("documents every setting it reads, in .env.example and in the README's table", () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const example = fs.readFileSync(path.join(root, ".env.example"), "utf8");
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
    // NODE_ENV is Node's and Next's own: `npm start` sets it.
    const names = SETTING_NAMES.filter((name) => name !== "NODE_ENV");
    expect(names.filter((name) => !new RegExp(`^${name}=`, "m").test(example))).toEqual([]);
    expect(names.filter((name) => !readme.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it("refuses a PostgreSQL DATABASE_URL that names a schema: the migrations would make the tables where the servers never look", () => {
    expect(() => parseSettings({ DATABASE_URL: "postgresql://app:pw@127.0.0.1:5432/app?schema=login" })).toThrow(
      new ConfigError([
        "Invalid setting DATABASE_URL: must not name a schema other than public (?schema=…): the app's tables are in the database's public schema; give the app a database of its own instead.",
      ]),
    );
    expect(parseSettings({ DATABASE_URL: "postgresql://app:pw@127.0.0.1:5432/app?sslmode=disable" }).DATABASE_URL).toBe(
      "postgresql://app:pw@127.0.0.1:5432/app?sslmode=disable",
    );
    // Prisma's usual form names the one the app uses: taken.
    expect(parseSettings({ DATABASE_URL: "postgresql://app:pw@127.0.0.1:5432/app?schema=public" }).DATABASE_URL).toBe(
      "postgresql://app:pw@127.0.0.1:5432/app?schema=public",
    );
  });

  it("refuses an SMTP_URL whose password is not percent-encoded: every mail would fail, while the start said mail goes out", () => {
    const MAIL_FROM = "Example Login <no-reply@example.com>";
    expect(() => parseSettings({ SMTP_URL: "smtp://user:100%@mail.example.com:587", MAIL_FROM })).toThrow(
      new ConfigError([
        "Invalid setting SMTP_URL: must have its user name and password percent-encoded (% as %25, @ as %40, : as %3A, / as %2F), e.g. smtp://user:100%25%40home@mail.example.com:587.",
      ]),
    );
    expect(parseSettings({ SMTP_URL: "smtp://user:100%25@mail.example.com:587", MAIL_FROM }).SMTP_URL).toBe("smtp://user:100%25@mail.example.com:587");
  });

  it("still takes a number with leading zeros, as the shell wrote it", () => {
    expect(parseSettings({ PORT: "08080" }).PORT).toBe(8080);
  });

  it.each([
    ["NEXTAUTH_SECRET", "x".repeat(32), "has 1 different character in 32", "NEXTAUTH_SECRET=$(openssl rand -base64 32)"],
    ["NEXTAUTH_SECRET", "ab".repeat(24), "has 2 different characters in 48", "NEXTAUTH_SECRET=$(openssl rand -base64 32)"],
    ["LOGIN_CLIENT_SECRET", "0000111122223333", "has 4 different characters in 16", "LOGIN_CLIENT_SECRET=$(openssl rand -base64 32)"],
    ["METRICS_TOKEN", "-".repeat(20), "has 1 different character in 20", "METRICS_TOKEN=$(openssl rand -base64 32)"],
  ])("refuses a %s that is a character or a few repeated", (name, value, what, fix) => {
    expect(() => parseSettings({ [name]: value })).toThrow(new ConfigError([`Invalid setting ${name}: ${what}: make it of random characters, e.g. ${fix}.`]));
  });

  it("refuses a KEY_ENCRYPTION_KEY of one byte repeated (32 zero bytes are valid base64)", () => {
    expect(() => parseSettings({ KEY_ENCRYPTION_KEY: `${"A".repeat(43)}=` })).toThrow(
      new ConfigError([
        "Invalid setting KEY_ENCRYPTION_KEY: has 1 different byte in 32: make it of random bytes, e.g. KEY_ENCRYPTION_KEY=$(openssl rand -base64 32).",
      ]),
    );
    expect(parseSettings({ KEY_ENCRYPTION_KEY: "q7F0e8rR2k0n3V1sYd0HcM5pLwX9aZb4uT6iJgKyNfE=" }).KEY_ENCRYPTION_KEY).toBeDefined();
  });

  it("takes secrets of random characters, hex and base64 alike", () => {
    const s = parseSettings({
      NEXTAUTH_SECRET: "3f9a0c2e7b1d4a6f8e0c2b4d6f8a0c1e",
      LOGIN_CLIENT_SECRET: "9b2e4f60a1c3d5e7",
      METRICS_TOKEN: "Zm9vYmFyLXRva2VuLTAx",
    });
    expect([s.NEXTAUTH_SECRET, s.LOGIN_CLIENT_SECRET, s.METRICS_TOKEN]).toEqual([
      "3f9a0c2e7b1d4a6f8e0c2b4d6f8a0c1e",
      "9b2e4f60a1c3d5e7",
      "Zm9vYmFyLXRva2VuLTAx",
    ]);
  });

  // next-auth builds its redirects from NEXTAUTH_URL, which `npm start` sets to APP_URL only when
  // it is unset: another origin there sent every signed-in user to it.
  it.each([
    ["https://other.example.com", "https://login.example.com"],
    ["http://login.example.com", "https://login.example.com"],
    ["https://login.example.com/auth", "https://login.example.com"],
    ["http://localhost:3001", undefined],
  ])("refuses NEXTAUTH_URL %j beside APP_URL %j, naming both", (nextAuthUrl, appUrl) => {
    const expected = appUrl ?? "http://localhost:3000";
    expect(() => parseSettings({ NEXTAUTH_URL: nextAuthUrl, ...(appUrl ? { APP_URL: appUrl } : {}) })).toThrow(
      new ConfigError([
        `Invalid setting NEXTAUTH_URL: ${nextAuthUrl} is not APP_URL (${expected}); the login app's links and redirects are built on APP_URL: unset NEXTAUTH_URL (npm start sets it to APP_URL).`,
      ]),
    );
  });

  it.each([["https://login.example.com"], ["https://login.example.com/"], ["https://login.example.com/api/auth"]])(
    "takes NEXTAUTH_URL %j, which is APP_URL's own",
    (nextAuthUrl) => {
      expect(parseSettings({ NEXTAUTH_URL: nextAuthUrl, APP_URL: "https://login.example.com" }).APP_URL).toBe("https://login.example.com");
    },
  );

  // A database across the network without TLS sends every password hash and token over it in clear.
  it("refuses a PostgreSQL server across the network without sslmode in production, naming the fix", () => {
    expect(productionProblems({ ...production, DATABASE_URL: "postgresql://ropc:pw@db.internal:5432/ropc" })).toEqual([
      "DATABASE_URL names the PostgreSQL server db.internal without sslmode: add ?sslmode=verify-full to encrypt the connection and check the server's certificate, or ?sslmode=disable if the network between them is private.",
    ]);
    expect(productionProblems({ ...production, DATABASE_URL: "postgres://ropc:pw@10.0.0.5/ropc?connect_timeout=5" })).toHaveLength(1);
  });

  it.each([
    "postgresql://ropc:pw@db.internal:5432/ropc?sslmode=verify-full",
    "postgresql://ropc:pw@db.internal:5432/ropc?sslmode=disable",
    "postgresql://ropc:pw@127.0.0.1:5432/ropc",
    "postgresql://ropc:pw@localhost/ropc",
    "postgresql://ropc:pw@[::1]:5432/ropc",
    "postgresql://ropc@/ropc?host=/var/run/postgresql",
  ])("takes %j in production: TLS asked for or refused explicitly, or the server on this machine", (url) => {
    expect(productionProblems({ ...production, DATABASE_URL: url })).toEqual([]);
  });
});
