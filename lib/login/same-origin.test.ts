import { describe, expect, it } from "vitest";
import { isSameOriginPost } from "@/lib/login/same-origin.ts";

const APP = "http://127.0.0.1:3100";

describe("isSameOriginPost", () => {
  it.each([
    [{ origin: APP }, true],
    [{ origin: "https://evil.example" }, false],
    [{ origin: "https://evil.example", "sec-fetch-site": "same-origin" }, false],
    [{ origin: "null", "sec-fetch-site": "same-origin" }, true],
    [{ origin: "null", "sec-fetch-site": "cross-site" }, false],
    [{ "sec-fetch-site": "same-site" }, false],
    [{}, false],
  ])("%o → %s", (headers, expected) => {
    expect(isSameOriginPost(new Request(`${APP}/login/submit`, { method: "POST", headers }), APP)).toBe(expected);
  });
});
