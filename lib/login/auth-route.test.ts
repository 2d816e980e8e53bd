import { describe, expect, it } from "vitest";
import { NextRequest } from "next/server";
import { authRoute, methodNotAllowed } from "@/lib/login/auth-route.ts";

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
