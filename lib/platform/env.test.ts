import { describe, expect, it } from "vitest";
import { assertProductionSettings, parseSettings } from "@/lib/platform/env.ts";

const production = {
  NODE_ENV: "production",
  APP_URL: "https://login.example.com",
  NEXTAUTH_SECRET: "x".repeat(32),
  LOGIN_CLIENT_SECRET: "y".repeat(32),
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

  it.each(["APP_URL", "NEXTAUTH_SECRET", "LOGIN_CLIENT_SECRET"] as const)("refuses production without %s, naming it", (name) => {
    const env = { ...production, [name]: "" };
    expect(() => assertProductionSettings(env)).toThrow(new RegExp(`^${name} is required in production`));
  });

  it("accepts a complete production environment", () => {
    expect(() => assertProductionSettings({ ...production })).not.toThrow();
    expect(() => assertProductionSettings({ ...production, APP_URL: "http://127.0.0.1:3100" })).not.toThrow();
  });

  it("refuses an http APP_URL in production except for localhost", () => {
    expect(() => assertProductionSettings({ ...production, APP_URL: "http://login.example.com" })).toThrow(/^APP_URL must be an https URL/);
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
});
