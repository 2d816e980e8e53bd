import { describe, expect, it } from "vitest";
import { InvalidGrant, InvalidRequest } from "@/lib/oauth/protocol/errors.ts";
import { errorResponse, json } from "@/lib/oauth/protocol/responses.ts";
import { toWebResponse } from "@/lib/oauth/pipeline/next-adapter.ts";

describe("responses", () => {
  it("json() is never cacheable", () => {
    const res = json({ a: 1 });
    expect(res).toMatchObject({ status: 200, body: '{"a":1}' });
    expect(res.headers["Cache-Control"]).toBe("no-store");
    expect(res.headers.Pragma).toBe("no-cache");
    expect(res.headers["Content-Type"]).toBe("application/json;charset=UTF-8");
  });

  it("toWebResponse() keeps status, headers and body", async () => {
    const res = toWebResponse(json({ a: 1 }, 429, { "Retry-After": "7" }));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ a: 1 });
    const empty = toWebResponse({ status: 204, headers: { Allow: "POST" }, body: null });
    expect([empty.status, empty.headers.get("allow"), await empty.text()]).toEqual([204, "POST", ""]);
  });

  it("errorResponse() writes RFC 6749 §5.2 JSON and keeps the private detail out", async () => {
    const res = errorResponse(new InvalidGrant("invalid username or password", { detail: "unknown user bob" }));
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body!)).toEqual({ error: "invalid_grant", error_description: "invalid username or password" });
  });

  it("errorResponse() keeps error_description within the characters RFC 6749 allows", async () => {
    const res = errorResponse(new InvalidRequest('bad "é" \\ value'));
    expect(JSON.parse(res.body!).error_description).toBe("bad ??? ? value");
  });
});
