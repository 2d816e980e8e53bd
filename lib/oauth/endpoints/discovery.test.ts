import { importJWK, type JWK } from "jose";
import * as oauth from "oauth4webapi";
import { describe, expect, it } from "vitest";
import { clearCaches } from "@/lib/platform/caches.ts";
import { db } from "@/lib/platform/db.ts";
import { discovery } from "@/lib/oauth/endpoints/discovery.ts";
import type { EndpointContext } from "@/lib/oauth/endpoints/context.ts";
import { ROUTE_TABLE } from "@/lib/oauth/routes.ts";
import { createSigningKey } from "@/lib/oauth/store/signing-keys.ts";
import { findWorkspace } from "@/lib/oauth/store/workspaces.ts";
import { addClient, ALICE, getDiscovery, getJwks, inProcessFetch, ISSUER, postToken, SPA } from "@/lib/testing/oauth.ts";

describe("discovery (OIDC Discovery §3, RFC 8414)", () => {
  it("describes the workspace truthfully", async () => {
    const res = await getDiscovery();
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    expect(await res.json()).toEqual({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/oauth2/token`,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
      revocation_endpoint: `${ISSUER}/oauth2/revoke`,
      introspection_endpoint: `${ISSUER}/oauth2/introspect`,
      registration_endpoint: `${ISSUER}/oauth2/register`,
      grant_types_supported: [
        "password",
        "refresh_token",
        "client_credentials",
        "http://auth0.com/oauth/grant-type/mfa-otp",
        "http://auth0.com/oauth/grant-type/mfa-recovery-code",
      ],
      token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"],
      token_endpoint_auth_signing_alg_values_supported: ["HS256", "ES256", "RS256", "PS256", "EdDSA"],
      revocation_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"],
      revocation_endpoint_auth_signing_alg_values_supported: ["HS256", "ES256", "RS256", "PS256", "EdDSA"],
      introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"],
      introspection_endpoint_auth_signing_alg_values_supported: ["HS256", "ES256", "RS256", "PS256", "EdDSA"],
      scopes_supported: ["account", "email", "introspect_tokens", "offline_access", "openid", "profile", "register_clients", "revoke_tokens"],
      response_types_supported: [],
      request_uri_parameter_supported: false,
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256", "RS256", "EdDSA"],
      claims_supported: "iss sub aud exp iat auth_time jti amr azp at_hash sid name email email_verified refresh_token_expires_at".split(" "),
      dpop_signing_alg_values_supported: ["ES256", "RS256", "PS256", "EdDSA"],
      password_policy: { min_length: 8, max_length: 1024, rejects: ["common", "username", "email"] },
      // Outside production without SMTP_URL, mail goes to the development mailbox: recovery is on.
      password_reset_endpoint: "http://localhost:3000/demo/default/account/password-reset",
      password_reset_complete_endpoint: "http://localhost:3000/demo/default/account/password-reset/complete",
    });
  });

  it("advertises only grants the token endpoint accepts, and accepts every one it advertises", async () => {
    const meta = await (await getDiscovery()).json();
    for (const grant of meta.grant_types_supported) {
      const res = await postToken({ grant_type: grant, ...SPA, ...ALICE });
      expect((await res.clone().json()).error).not.toBe("unsupported_grant_type");
    }
    for (const grant of ["authorization_code", "implicit", "urn:ietf:params:oauth:grant-type:device_code"]) {
      expect(meta.grant_types_supported).not.toContain(grant);
      expect((await (await postToken({ grant_type: grant, ...SPA })).json()).error).toBe("unsupported_grant_type");
    }
  });

  it("answers an unknown workspace with 404 JSON", async () => {
    const res = await getDiscovery({ workspace: "missing" });
    expect(res.status).toBe(404);
    expect((await res.json()).error).toBe("not_found");
  });

  it("is GET only", async () => {
    const res = await getDiscovery({ method: "POST", body: "a=1" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
  });

  it("lists a scope a new client brings once the client cache lets it, for the same workspace object", async () => {
    // The document is serialised once per set of inputs: the workspace object stays the same
    // here (a test's own, no cache), and only the clients' scopes change under it.
    const workspace = await findWorkspace("demo", "default");
    const context = { workspace, urlFor: (name) => `${workspace.issuer}${ROUTE_TABLE[name].path}` } as EndpointContext;
    const request = { method: "GET", url: "/", headers: { get: () => null }, body: null };
    const scopes = async () => (JSON.parse((await discovery(request, context)).body ?? "{}") as { scopes_supported: string[] }).scopes_supported;
    expect(await scopes()).not.toContain("reports");
    await addClient("discovery-scopes", { scopes: "openid reports" });
    try {
      clearCaches("settings");
      expect(await scopes()).toEqual([
        "account",
        "email",
        "introspect_tokens",
        "offline_access",
        "openid",
        "profile",
        "register_clients",
        "reports",
        "revoke_tokens",
      ]);
    } finally {
      await db().client.deleteMany({ where: { clientId: "discovery-scopes" } });
      clearCaches("settings");
    }
    expect(await scopes()).not.toContain("reports");
  });
});

describe("discovery at RFC 8414 §3.1's well-known paths, for an issuer with a path", () => {
  const requested: string[] = [];
  const fetchLogged = (async (input: string | URL | Request, init?: RequestInit) => {
    requested.push(new Request(input, init).url);
    return inProcessFetch(input, init);
  }) as typeof fetch;
  const options = { [oauth.customFetch]: fetchLogged, [oauth.allowInsecureRequests]: true };

  it.each([
    ["oauth2", "http://localhost:3000/.well-known/oauth-authorization-server/demo/default"],
    ["oidc", `${ISSUER}/.well-known/openid-configuration`],
  ] as const)("oauth4webapi discovers the workspace with algorithm %s, at %s", async (algorithm, url) => {
    requested.length = 0;
    const response = await oauth.discoveryRequest(new URL(ISSUER), { ...options, algorithm });
    expect(requested).toEqual([url]);
    const as = await oauth.processDiscoveryResponse(new URL(ISSUER), response);
    expect(as).toEqual(await (await getDiscovery()).json());
    expect(as.token_endpoint).toBe(`${ISSUER}/oauth2/token`);
  });

  it.each(["oauth-authorization-server", "openid-configuration"])(
    "serves the same document, public and cacheable, at /.well-known/%s/demo/default",
    async (name) => {
      const res = await inProcessFetch(`http://localhost:3000/.well-known/${name}/demo/default`);
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=300");
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(await res.json()).toEqual(await (await getDiscovery()).json());
    },
  );

  it.each(["oauth-authorization-server", "openid-configuration"])("answers an unknown workspace at /.well-known/%s/… with 404 JSON", async (name) => {
    const res = await inProcessFetch(`http://localhost:3000/.well-known/${name}/demo/missing`);
    expect(res.status).toBe(404);
    expect((await res.json()).error).toBe("not_found");
  });
});

describe("JWKS (RFC 7517)", () => {
  it("publishes an ES256, an RS256 and an EdDSA public key with kid, alg and use, and nothing private", async () => {
    const res = await getJwks();
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: JWK[] };
    const members: Record<string, string[]> = {
      ES256: ["alg", "crv", "kid", "kty", "use", "x", "y"],
      RS256: ["alg", "e", "kid", "kty", "n", "use"],
      EdDSA: ["alg", "crv", "kid", "kty", "use", "x"],
    };
    expect(keys.map((k) => k.alg).sort()).toEqual(["ES256", "EdDSA", "RS256"]);
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(members[key.alg ?? ""]);
      expect(key.use).toBe("sig");
      for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(secret);
      await expect(importJWK(key, key.alg)).resolves.toBeDefined();
    }
    expect(keys.find((k) => k.alg === "ES256")).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(keys.find((k) => k.alg === "RS256")).toMatchObject({ kty: "RSA", e: "AQAB" });
    expect(keys.find((k) => k.alg === "EdDSA")).toMatchObject({ kty: "OKP", crv: "Ed25519" });
    expect(Buffer.from(keys.find((k) => k.alg === "RS256")?.n ?? "", "base64url").length * 8).toBe(2048);
  });

  it("publishes a pre-published key beside the signing one, and signs with the active one", async () => {
    const before = (await (await getJwks()).json()).keys.map((k: JWK) => k.kid);
    const next = await createSigningKey(db(), new Date(Date.now() + 3_600_000));
    const { keySet } = await import("@/lib/oauth/tokens/keys.ts");
    const keys = await keySet(Date.now() + 3_600_000 * 24); // past the cache bound: reloads
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual(expect.arrayContaining([...before, next]));
    expect(keys.signer().kid).not.toBe(next);
    expect(keys.signer("ES256", Date.now() + 7_200_000).kid).toBe(next);
  });

  it("publishes a key made since once the key cache lets it, and not before", async () => {
    const kids = async () => ((await (await getJwks()).json()) as { keys: JWK[] }).keys.map((k) => k.kid);
    const before = await kids();
    const next = await createSigningKey(db(), new Date(Date.now() + 3_600_000));
    // Within KEY_CACHE_SECONDS this process publishes the set it loaded.
    expect(await kids()).toEqual(before);
    clearCaches("settings");
    expect(await kids()).toEqual(expect.arrayContaining([...before, next]));
  });
});
