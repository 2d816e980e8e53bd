import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import * as oauth from "oauth4webapi";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { addClient, getClient, setClient } from "@/lib/admin/clients.ts";
import { setWorkspace } from "@/lib/admin/workspaces.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { ASSERTION_TYPE } from "@/lib/oauth/client-auth/jwt-assertion.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { ALICE, basic, expectNoStore, inProcessFetch, introspect, ISSUER, postIntrospect, postRevoke, postToken, TOKEN_URL } from "@/lib/testing/oauth.ts";

// JWT client authentication (RFC 7523 §2.2, OIDC Core §9) against the real endpoints: oauth4webapi
// as the client for what must work, hand-made assertions for every refusal.

const PK = "pk-jwt-client";
const PK_RSA = "pk-jwt-rsa-client";
const CS = "cs-jwt-client";
const SCOPES = ["openid", "profile", "introspect_tokens", "revoke_tokens"];
const GRANTS = ["password", "client_credentials"];

let ecKey: { privateKey: CryptoKey; publicJwk: JWK };
let rsaKey: { privateKey: CryptoKey; publicJwk: JWK };
let csSecret: string;

async function keyPair(alg: string, kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

beforeAll(async () => {
  ecKey = await keyPair("ES256", "ec-1");
  rsaKey = await keyPair("RS256", "rsa-1");
  await addClient({
    workspace: "demo/default",
    clientId: PK,
    grants: GRANTS,
    scopes: SCOPES,
    authMethods: ["private_key_jwt"],
    jwks: { keys: [ecKey.publicJwk] },
  });
  await addClient({
    workspace: "demo/default",
    clientId: PK_RSA,
    grants: GRANTS,
    scopes: SCOPES,
    authMethods: ["private_key_jwt"],
    jwks: { keys: [rsaKey.publicJwk] },
  });
  const added = await addClient({ workspace: "demo/default", clientId: CS, grants: GRANTS, scopes: SCOPES, authMethods: ["client_secret_jwt"] });
  csSecret = added.secret ?? "";
});

const options = { [oauth.customFetch]: inProcessFetch, [oauth.allowInsecureRequests]: true };
const discover = async () => oauth.processDiscoveryResponse(new URL(ISSUER), await oauth.discoveryRequest(new URL(ISSUER), options));

describe("oauth4webapi's PrivateKeyJwt and ClientSecretJwt drive the real endpoints", () => {
  const clients = (): Array<[string, oauth.ClientAuth]> => [
    [PK, oauth.PrivateKeyJwt({ key: ecKey.privateKey, kid: "ec-1" })],
    [PK_RSA, oauth.PrivateKeyJwt({ key: rsaKey.privateKey, kid: "rsa-1" })],
    [CS, oauth.ClientSecretJwt(csSecret)],
  ];

  it.each([PK, PK_RSA, CS])("%s: client credentials, the password grant, introspection and revocation", async (clientId) => {
    const auth = clients().find(([id]) => id === clientId)![1];
    const as = await discover();
    const client = { client_id: clientId };
    const cc = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: "introspect_tokens" }, options),
    );
    expect(cc.scope).toBe("introspect_tokens");
    const pw = await oauth.processGenericTokenEndpointResponse(
      as,
      client,
      await oauth.genericTokenEndpointRequest(as, client, auth, "password", { ...ALICE, scope: "openid profile" }, options),
    );
    expect(pw.token_type).toBe("bearer");
    const active = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, pw.access_token, options));
    expect(active).toMatchObject({ active: true, client_id: clientId, username: "alice" });
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, pw.access_token, options));
    expect(await introspect(pw.access_token)).toEqual({ active: false });
  });

  it("stores the client types as confidential, and the client_secret_jwt client's secret for HMAC", async () => {
    const rows = await db().client.findMany({ where: { clientId: { in: [PK, CS] } }, orderBy: { clientId: "asc" } });
    expect(rows.map((r) => [r.clientId, r.type, r.secretHash !== null, r.jwtSecret !== null, r.jwks !== null])).toEqual([
      [CS, "confidential", true, true, false],
      [PK, "confidential", false, false, true],
    ]);
  });
});

interface Make {
  claims?: Record<string, unknown>;
  without?: string[];
  alg?: string;
  key?: CryptoKey | Uint8Array;
  kid?: string;
}

/** A client assertion for PK, valid unless told otherwise. */
async function assertion({ claims = {}, without = [], alg = "ES256", key, kid = "ec-1" }: Make = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { iss: PK, sub: PK, aud: ISSUER, iat: now, exp: now + 60, jti: crypto.randomUUID(), ...claims };
  for (const name of without) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg, kid }).sign(key ?? ecKey.privateKey);
}

const unsecured = (payload: Record<string, unknown>) =>
  `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.`;

const withAssertion = (clientAssertion: string, extra: Record<string, string> = {}) => ({
  grant_type: "client_credentials",
  client_assertion_type: ASSERTION_TYPE,
  client_assertion: clientAssertion,
  ...extra,
});

async function expectRefused(res: Response, error: string, status: number) {
  expect(res.status).toBe(status);
  expectNoStore(res);
  expect(res.headers.get("www-authenticate")).toBeNull();
  expect(await res.json()).toEqual({ error, error_description: expect.any(String) });
}

let auditedFrom = 0;

/** Posts `clientAssertion` to the token endpoint from an address of its own: refused, with what reason in the audit trail. */
async function refusedBecause(clientAssertion: string): Promise<Array<string | null>> {
  const ip = `198.51.100.${++auditedFrom}`;
  await expectRefused(await postToken(withAssertion(clientAssertion), { [PEER_HEADER]: peerHeaderValue(ip) }), "invalid_client", 401);
  await flushAudit();
  return (await db().auditEvent.findMany({ where: { ip } })).map((row) => row.reason);
}

describe("what an assertion may be addressed to: the issuer alone (draft-ietf-oauth-rfc7523bis)", () => {
  it.each([
    ["the issuer", ISSUER],
    ["a list holding the issuer alone", [ISSUER]],
  ])("accepts %s", async (_name, aud) => {
    expect((await postToken(withAssertion(await assertion({ claims: { aud } })))).status).toBe(200);
  });

  // An assertion addressed to a token endpoint URL can have been asked for by another server that
  // names this one's token endpoint as its own (the audience injection the draft answers).
  it.each([
    ["the token endpoint", TOKEN_URL],
    ["a list holding the issuer and another audience", ["https://elsewhere.example", ISSUER]],
    ["the issuer with a trailing slash", `${ISSUER}/`],
    ["the issuer in other letters", ISSUER.toUpperCase()],
  ])("refuses %s, and the audit trail says why", async (_name, aud) => {
    expect(await refusedBecause(await assertion({ claims: { aud } }))).toEqual(["client_assertion aud must be the issuer alone"]);
  });

  it("refuses the introspection endpoint's URL at introspection, and the revocation endpoint's at revocation", async () => {
    const { access_token } = await (await postToken(withAssertion(await assertion()))).json();
    const introspection = await postIntrospect(withAssertion(await assertion({ claims: { aud: `${ISSUER}/oauth2/introspect` } }), { token: access_token }));
    await expectRefused(introspection, "invalid_client", 401);
    const revocation = await postRevoke(withAssertion(await assertion({ claims: { aud: `${ISSUER}/oauth2/revoke` } }), { token: access_token }));
    await expectRefused(revocation, "invalid_client", 401);
    expect(await introspect(access_token)).toMatchObject({ active: true });
  });
});

describe("an assertion's explicit type (typ, RFC 8725 §3.11)", () => {
  const typed = async (typ: unknown) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: PK, sub: PK, aud: ISSUER, iat: now, exp: now + 60, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: "ec-1", typ: typ as string })
      .sign(ecKey.privateKey);
  };

  it.each(["client-authentication+jwt", "application/client-authentication+jwt", "Client-Authentication+JWT", "JWT"])("accepts typ %s", async (typ) => {
    expect((await postToken(withAssertion(await typed(typ)))).status).toBe(200);
  });

  it.each(["dpop+jwt", "at+jwt", "application/at+jwt", "oauth-authz-req+jwt", "secevent+jwt", "", 7, null])(
    "refuses typ %j: another kind of JWT",
    async (typ) => {
      expect(await refusedBecause(await typed(typ))).toEqual(["client_assertion typ is another kind of JWT's"]);
    },
  );
});

describe("every refusal: 401 invalid_client (RFC 7523 §3.2, RFC 6749 §5.2)", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Promise<string>]> = [
    ["iss that is not the client", () => assertion({ claims: { iss: "someone-else" } })],
    ["sub naming a client that did not register private_key_jwt", () => assertion({ claims: { iss: "demo-backend", sub: "demo-backend" } })],
    ["sub naming no client", () => assertion({ claims: { iss: "nobody", sub: "nobody" } })],
    ["aud of another server", () => assertion({ claims: { aud: "https://other.example/token" } })],
    ["aud of another workspace", () => assertion({ claims: { aud: "http://localhost:3000/demo/other" } })],
    ["no aud", () => assertion({ without: ["aud"] })],
    ["no exp", () => assertion({ without: ["exp"] })],
    ["exp more than 5 minutes ahead", () => assertion({ claims: { exp: now() + 301 + 30 } })],
    ["exp past (beyond the skew)", () => assertion({ claims: { iat: now() - 600, exp: now() - 60 } })],
    ["iat in the future beyond the skew", () => assertion({ claims: { iat: now() + 120 } })],
    ["nbf in the future beyond the skew", () => assertion({ claims: { nbf: now() + 120 } })],
    ["no jti", () => assertion({ without: ["jti"] })],
    ["an empty jti", () => assertion({ claims: { jti: "" } })],
    ["a signature by another key under the client's kid", async () => assertion({ key: (await generateKeyPair("ES256")).privateKey })],
    ["a kid the client did not register", () => assertion({ kid: "ec-2" })],
    ["alg none", async () => unsecured({ iss: PK, sub: PK, aud: ISSUER, exp: now() + 60, jti: crypto.randomUUID() })],
    ["HS256 keyed with the client's public key", () => assertion({ alg: "HS256", key: new TextEncoder().encode(JSON.stringify(ecKey.publicJwk)) })],
    ["an RS256 assertion under the client's EC kid", async () => assertion({ alg: "RS256", key: rsaKey.privateKey })],
    ["no JWT at all", async () => "not-a-jwt"],
    ["a JWT without sub", () => assertion({ without: ["sub"] })],
  ];

  it.each(cases)("refuses %s", async (_name, make) => {
    await expectRefused(await postToken(withAssertion(await make())), "invalid_client", 401);
  });

  it("refuses an assertion used twice (its jti is remembered in the database until it expires)", async () => {
    const once = await assertion();
    expect((await postToken(withAssertion(once))).status).toBe(200);
    await expectRefused(await postToken(withAssertion(once)), "invalid_client", 401);
    // At another endpoint too.
    await expectRefused(await postIntrospect(withAssertion(once, { token: "x" })), "invalid_client", 401);
    expect(await db().usedClientAssertion.count()).toBeGreaterThan(0);
  });

  it("never echoes the assertion or says which check failed", async () => {
    const bad = await assertion({ claims: { aud: "https://other.example/token" } });
    const text = await (await postToken(withAssertion(bad))).text();
    expect(text).not.toContain(bad.split(".")[1]!);
    expect(JSON.parse(text)).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
  });

  it.each([
    ["a wrong secret", () => assertion({ alg: "HS256", key: new TextEncoder().encode("w".repeat(43)), claims: { iss: CS, sub: CS } })],
    [
      "an RS256 assertion (the client registered client_secret_jwt only)",
      () => assertion({ alg: "RS256", key: rsaKey.privateKey, kid: "rsa-1", claims: { iss: CS, sub: CS } }),
    ],
    [
      "HS256 with a Basic client's secret (it did not register client_secret_jwt)",
      () => assertion({ alg: "HS256", key: new TextEncoder().encode("demo-backend-secret"), claims: { iss: "demo-backend", sub: "demo-backend" } }),
    ],
  ])("client_secret_jwt: refuses %s", async (_name, make) => {
    await expectRefused(await postToken(withAssertion(await make())), "invalid_client", 401);
  });
});

describe("lockout (the production limits: 5 per client and address, 50 per address)", () => {
  afterEach(() => vi.restoreAllMocks());
  const limits = () => {
    vi.spyOn(settings(), "LOCKOUT_USER_IP_LIMIT", "get").mockReturnValue(5);
    vi.spyOn(settings(), "LOCKOUT_IP_LIMIT", "get").mockReturnValue(50);
    vi.spyOn(settings(), "LOCKOUT_WINDOW_SECONDS", "get").mockReturnValue(900);
  };
  const from = (ip: string) => ({ [PEER_HEADER]: peerHeaderValue(ip) });
  const now = () => Math.floor(Date.now() / 1000);

  it("does not count assertions refused before their signature was checked, nor keep them in flight", async () => {
    limits();
    const ip = "203.0.113.71";
    const refusedEarly = [
      () => unsecured({ iss: PK, sub: PK, aud: ISSUER, exp: now() + 60, jti: crypto.randomUUID() }),
      async () => `${(await assertion()).slice(0, -4)}!!!!`,
      () => assertion({ alg: "RS256", key: rsaKey.privateKey }),
      () => assertion({ claims: { iat: now() - 600, exp: now() - 60 } }),
      () => assertion({ claims: { aud: "https://other.example/token" } }),
      () => assertion({ without: ["jti"] }),
    ];
    for (const make of refusedEarly) await expectRefused(await postToken(withAssertion(await make()), from(ip)), "invalid_client", 401);
    expect((await postToken(withAssertion(await assertion()), from(ip))).status).toBe(200);
    expect(await db().failedLogin.count({ where: { ip, kind: "client", username: PK } })).toBe(0);
  });

  it("locks out a client id tried with a method it did not register, or an algorithm it is pinned against, as an unknown id (a lockout tells no client ids)", async () => {
    limits();
    await addClient({
      workspace: "demo/default",
      clientId: "pk-jwt-lockout-pinned",
      grants: GRANTS,
      scopes: SCOPES,
      authMethods: ["private_key_jwt"],
      jwks: { keys: [ecKey.publicJwk, rsaKey.publicJwk] },
      authSigningAlg: "ES256",
    });
    const answers = async (clientId: string, alg: "HS256" | "RS256", ip: string) => {
      const key = alg === "HS256" ? new TextEncoder().encode("a guess at a secret, thirty-two bytes") : rsaKey.privateKey;
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const assertion = await new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, iat: now(), exp: now() + 60, jti: crypto.randomUUID() })
          .setProtectedHeader({ alg })
          .sign(key);
        statuses.push((await postToken(withAssertion(assertion), from(ip))).status);
      }
      return statuses;
    };
    const locked = [401, 401, 401, 401, 401, 429];
    expect(await answers("no-such-client", "HS256", "203.0.113.81")).toEqual(locked);
    // PK registered private_key_jwt only.
    expect(await answers(PK, "HS256", "203.0.113.82")).toEqual(locked);
    expect(await answers("no-such-client", "RS256", "203.0.113.83")).toEqual(locked);
    expect(await answers("pk-jwt-lockout-pinned", "RS256", "203.0.113.84")).toEqual(locked);
  });

  it("counts a signature by a key that is not the client's, and locks the client out at that address after five", async () => {
    limits();
    const ip = "203.0.113.72";
    const other = (await generateKeyPair("ES256")).privateKey;
    for (let i = 0; i < 5; i++) await expectRefused(await postToken(withAssertion(await assertion({ key: other })), from(ip)), "invalid_client", 401);
    const locked = await postToken(withAssertion(await assertion()), from(ip));
    expect(locked.status).toBe(429);
    expect((await locked.json()).error).toBe("too_many_attempts");
    expect(await db().failedLogin.count({ where: { ip, kind: "client", username: PK } })).toBe(5);
    expect((await postToken(withAssertion(await assertion()), from("203.0.113.73"))).status).toBe(200);
  });
});

describe("an unknown client id: the same checks as a known client's wrong key (timing tells no client ids)", () => {
  afterEach(() => vi.restoreAllMocks());
  let n = 0;
  const from = () => ({ [PEER_HEADER]: peerHeaderValue(`203.0.113.${100 + (n++ % 100)}`) });

  /** An assertion for `clientId`, signed by a key of `alg` that is not its, with or without a `kid`. */
  async function foreign(clientId: string, alg: string, kid?: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const key = alg === "HS256" ? new TextEncoder().encode("a secret that is nobody's, 32 bytes+") : (await generateKeyPair(alg)).privateKey;
    return new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, iat: now, exp: now + 60, jti: crypto.randomUUID() })
      .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
      .sign(key);
  }

  /** How many signatures the server verified to refuse the assertion. */
  async function verifications(clientAssertion: string): Promise<number> {
    const verify = vi.spyOn(crypto.subtle, "verify");
    await expectRefused(await postToken(withAssertion(clientAssertion), from()), "invalid_client", 401);
    const count = verify.mock.calls.length;
    verify.mockRestore();
    return count;
  }

  it.each([
    ["ES256", PK],
    ["RS256", PK_RSA],
    ["HS256", CS],
  ])("verifies a %s signature without a kid once, for an unknown client as for a known one", async (alg, known) => {
    expect(await verifications(await foreign(known, alg))).toBe(1);
    expect(await verifications(await foreign("no-such-client", alg))).toBe(1);
  });

  it("verifies none for a kid that no key has, for an unknown client as for a known one", async () => {
    expect(await verifications(await foreign(PK, "ES256", "someone-else"))).toBe(0);
    expect(await verifications(await foreign("no-such-client", "ES256", "someone-else"))).toBe(0);
  });
});

describe("a client pinned to one algorithm (token_endpoint_auth_signing_alg, RFC 7591 §2)", () => {
  const PINNED = "pk-jwt-pinned";
  const UNPINNED = "pk-jwt-unpinned";
  const both = () => ({ keys: [ecKey.publicJwk, rsaKey.publicJwk] });
  /** A valid assertion for `clientId`, signed with `alg` by the matching key. */
  const signed = (clientId: string, alg: "ES256" | "RS256") => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, iat: now, exp: now + 60, jti: crypto.randomUUID() })
      .setProtectedHeader({ alg, kid: alg === "ES256" ? "ec-1" : "rsa-1" })
      .sign(alg === "ES256" ? ecKey.privateKey : rsaKey.privateKey);
  };

  beforeAll(async () => {
    await addClient({
      workspace: "demo/default",
      clientId: PINNED,
      grants: GRANTS,
      scopes: SCOPES,
      authMethods: ["private_key_jwt"],
      jwks: both(),
      authSigningAlg: "ES256",
    });
    await addClient({ workspace: "demo/default", clientId: UNPINNED, grants: GRANTS, scopes: SCOPES, authMethods: ["private_key_jwt"], jwks: both() });
  });

  it("accepts the pinned algorithm only: an RS256 assertion by the client's own RSA key is invalid_client", async () => {
    expect((await postToken(withAssertion(await signed(PINNED, "ES256")))).status).toBe(200);
    await expectRefused(await postToken(withAssertion(await signed(PINNED, "RS256"))), "invalid_client", 401);
    // The same keys without a pin: both algorithms work.
    expect((await postToken(withAssertion(await signed(UNPINNED, "ES256")))).status).toBe(200);
    expect((await postToken(withAssertion(await signed(UNPINNED, "RS256")))).status).toBe(200);
  });

  it("is changed with the admin layer: another algorithm, then any again", async () => {
    await setClient("demo/default", PINNED, { authSigningAlg: "RS256" });
    expect((await getClient("demo/default", PINNED)).authSigningAlg).toBe("RS256");
    await setClient("demo/default", PINNED, { authSigningAlg: null });
    expect((await getClient("demo/default", PINNED)).authSigningAlg).toBeNull();
    await setClient("demo/default", PINNED, { authSigningAlg: "ES256" });
  });

  it.each([
    ["HS256 for private_key_jwt", ["private_key_jwt"], "HS256"],
    ["ES256 for client_secret_jwt", ["client_secret_jwt"], "ES256"],
    ["an algorithm for a secret method", ["client_secret_basic"], "ES256"],
    ["none", ["private_key_jwt"], "none"],
    ["an unknown algorithm", ["private_key_jwt"], "ES512"],
  ])("refuses %s", async (_name, authMethods, alg) => {
    await expect(
      addClient({
        workspace: "demo/default",
        clientId: `pinned-${crypto.randomUUID()}`,
        grants: GRANTS,
        scopes: SCOPES,
        authMethods,
        jwks: both(),
        authSigningAlg: alg,
      }),
    ).rejects.toThrow(/token endpoint auth signing algorithm/);
  });

  it("refuses a change of methods that the pin no longer fits, and keeps the client as it was", async () => {
    await expect(setClient("demo/default", PINNED, { authMethods: ["client_secret_jwt"] })).rejects.toThrow(/fits none of the client's auth methods/);
    expect((await getClient("demo/default", PINNED)).authMethods).toEqual(["private_key_jwt"]);
  });

  it("pins client_secret_jwt to HS256, which oauth4webapi's ClientSecretJwt uses", async () => {
    const added = await addClient({
      workspace: "demo/default",
      clientId: "cs-jwt-pinned",
      grants: GRANTS,
      scopes: SCOPES,
      authMethods: ["client_secret_jwt"],
      authSigningAlg: "HS256",
    });
    const as = await discover();
    const client = { client_id: "cs-jwt-pinned" };
    const cc = await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretJwt(added.secret ?? ""), { scope: "introspect_tokens" }, options),
    );
    expect(cc.scope).toBe("introspect_tokens");
  });
});

describe("malformed requests: 400 invalid_request", () => {
  it.each([
    ["no client_assertion_type", async () => ({ grant_type: "client_credentials", client_assertion: await assertion() })],
    [
      "another client_assertion_type",
      async () => ({ ...withAssertion(await assertion()), client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer" }),
    ],
    ["a client_id that is not the assertion's sub", async () => withAssertion(await assertion(), { client_id: "demo-backend" })],
    ["client_assertion beside client_secret", async () => withAssertion(await assertion(), { client_id: PK, client_secret: "x" })],
  ])("refuses %s", async (_name, make) => {
    await expectRefused(await postToken(await make()), "invalid_request", 400);
  });

  it("refuses client_assertion beside HTTP Basic (two methods)", async () => {
    const res = await postToken(withAssertion(await assertion()), { Authorization: basic("demo-backend", "demo-backend-secret") });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("invalid_request");
  });

  it("accepts a client_id that is the assertion's sub", async () => {
    expect((await postToken(withAssertion(await assertion(), { client_id: PK }))).status).toBe(200);
  });
});

describe("Basic and post clients are untouched", () => {
  it("still authenticate with their secrets", async () => {
    expect((await postToken({ grant_type: "client_credentials" }, { Authorization: basic("demo-service", "demo-service-secret") })).status).toBe(200);
    expect((await postToken({ grant_type: "password", client_id: "demo-backend", client_secret: "demo-backend-secret", ...ALICE })).status).toBe(200);
  });
});

describe("with the workspace's DPoP nonces on (RFC 9449 §8)", () => {
  it("a request answered use_dpop_nonce has not spent its client assertion: sent again with the nonce, it is answered", async () => {
    await setWorkspace("demo/default", { dpopNonces: true });
    clearCaches("settings");
    try {
      const { privateKey, publicKey } = await generateKeyPair("ES256");
      const jwk = await exportJWK(publicKey);
      const dpop = (nonce?: string) =>
        new SignJWT({ jti: crypto.randomUUID(), htm: "POST", htu: TOKEN_URL, iat: Math.floor(Date.now() / 1000), ...(nonce === undefined ? {} : { nonce }) })
          .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk })
          .sign(privateKey);
      // One body, as a client's DPoP handling sends it again with a new proof.
      const body = withAssertion(await assertion(), { scope: "introspect_tokens" });
      const first = await postToken(body, { DPoP: await dpop() });
      expect(first.status).toBe(400);
      expect((await first.json()).error).toBe("use_dpop_nonce");
      const nonce = first.headers.get("dpop-nonce");
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const second = await postToken(body, { DPoP: await dpop(nonce ?? "") });
      expect(second.status).toBe(200);
      expect(await second.json()).toMatchObject({ token_type: "DPoP", scope: "introspect_tokens" });
      // Spent now: the same assertion a third time is a replay.
      await expectRefused(await postToken(body, { DPoP: await dpop(nonce ?? "") }), "invalid_client", 401);
    } finally {
      await setWorkspace("demo/default", { dpopNonces: false });
      clearCaches("settings");
    }
  });
});
