import { describe, expect, it } from "vitest";
import { atHash } from "@/lib/oauth/tokens/mint.ts";
import { expectedAtHash } from "@/lib/login/token-client.ts";
import { SIGNING_ALGS } from "@/lib/oauth/protocol/algorithms.ts";

describe("atHash (OIDC Core §3.1.3.6)", () => {
  it.each(["ES256", "RS256"] as const)("matches the OpenID Connect test vector for %s (SHA-256)", (alg) => {
    expect(atHash("dNZX1hEZ9wBCzNL40Upu646bdzQA", alg)).toBe("wfgvmE9VxjAudsl9lc6TqA");
  });

  it("is 16 bytes of base64url without padding for SHA-256, 32 for EdDSA's SHA-512", () => {
    expect(atHash("eyJhbGciOiJFUzI1NiJ9.e30.sig", "ES256")).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(atHash("eyJhbGciOiJFUzI1NiJ9.e30.sig", "EdDSA")).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each(SIGNING_ALGS)("agrees with what the login app (a separate client) expects for %s", (alg) => {
    expect(atHash("dNZX1hEZ9wBCzNL40Upu646bdzQA", alg)).toBe(expectedAtHash("dNZX1hEZ9wBCzNL40Upu646bdzQA", alg));
  });
});
