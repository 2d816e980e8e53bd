import { describe, expect, it } from "vitest";
import { atHash } from "@/lib/oauth/tokens/mint.ts";

describe("atHash (OIDC Core §3.1.3.6)", () => {
  it("matches the OpenID Connect test vector", () => {
    expect(atHash("dNZX1hEZ9wBCzNL40Upu646bdzQA")).toBe("wfgvmE9VxjAudsl9lc6TqA");
  });

  it("is 16 bytes of base64url without padding", () => {
    expect(atHash("eyJhbGciOiJFUzI1NiJ9.e30.sig")).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
