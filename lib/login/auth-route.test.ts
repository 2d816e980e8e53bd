import { afterEach, describe, expect, it, vi } from "vitest";
import { NextRequest } from "next/server";
import { authRoute, methodNotAllowed } from "@/lib/login/auth-route.ts";
import { logger } from "@/lib/platform/logger.ts";

const context = (...nextauth: string[]) => ({ params: Promise.resolve({ nextauth }) });

describe("next-auth's routes: the credentials callback is POST only", () => {
  it.each(["GET", "HEAD", "PUT", "DELETE"])("answers %s /api/auth/callback/credentials with 405 and Allow: POST", async (method) => {
    const res = await authRoute(new NextRequest("http://localhost:3000/api/auth/callback/credentials", { method }), context("callback", "credentials"));
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("");
  });

  it.each([
    [["callback", "credentials"], "POST"],
    [["session"], "GET"],
    [["csrf"], "GET"],
    [["signout"], "POST"],
    [["providers"], "GET"],
  ])("hands %j %s to next-auth", (segments, method) => {
    expect(methodNotAllowed(segments, method)).toBeUndefined();
  });
});

describe("next-auth's client log route", () => {
  afterEach(() => vi.restoreAllMocks());

  it.each(["error", "warn", "debug"])("answers POST /api/auth/_log at level %s with 404 and logs nothing", async (level) => {
    const spies = (["error", "warn", "info", "debug"] as const).map((name) => vi.spyOn(logger, name));
    const res = await authRoute(
      new NextRequest("http://localhost:3000/api/auth/_log", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ level, code: "FORGED_BY_ANYONE", message: "x".repeat(10_000) }),
      }),
      context("_log"),
    );
    expect(res.status).toBe(404);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("");
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });
});

describe("a POST whose JSON body does not parse", () => {
  it.each([
    [["signout"], "/api/auth/signout"],
    [["callback", "credentials"], "/api/auth/callback/credentials"],
  ])("answers %j with 400, not next-auth's unanswered SyntaxError (a 500)", async (segments, path) => {
    const res = await authRoute(
      new NextRequest(`http://localhost:3000${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{" }),
      context(...segments),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("");
  });
});
