import { describe, expect, it } from "vitest";
import { addClient as adminAddClient, setClient } from "@/lib/admin/clients.ts";
import { createWorkspace } from "@/lib/admin/workspaces.ts";
import { db } from "@/lib/platform/db.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { basic, call, expectNoStore, getDiscovery, ISSUER, postToken, SERVICE_BASIC, signIn, type Call } from "@/lib/testing/oauth.ts";

const REGISTER_URL = `${ISSUER}/oauth2/register`;
const JSON_TYPE = { "Content-Type": "application/json" };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

async function serviceToken(
  scope = "register_clients",
  headers: Record<string, string> = SERVICE_BASIC,
  c: Omit<Call, "body" | "headers"> = {},
): Promise<string> {
  const res = await postToken({ grant_type: "client_credentials", scope }, headers, c);
  if (res.status !== 200) throw new Error(`client_credentials failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** An initial access token of a new registrar an operator made with `scopes`. */
async function registrarToken(clientId: string, scopes: string[]): Promise<string> {
  const registrar = await adminAddClient({ workspace: "demo/default", clientId, grants: ["client_credentials"], scopes });
  return serviceToken("register_clients", { Authorization: basic(clientId, registrar.secret ?? "") });
}

const register = (body: unknown, headers: Record<string, string>) =>
  call(routes.registration, REGISTER_URL, { method: "POST", body: JSON.stringify(body), headers: { ...JSON_TYPE, ...headers } });

const manage = (uri: string, method: "GET" | "PUT" | "DELETE", token: string, body?: unknown) =>
  call(routes.registration, uri, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { ...bearer(token), ...(body === undefined ? {} : JSON_TYPE) },
  });

// A P-256 public key (RFC 7517 §A.1's example): registration checks its shape, nothing is signed with it.
const EC_PUBLIC_JWK = {
  kty: "EC",
  crv: "P-256",
  x: "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
  y: "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM",
  kid: "reg-1",
};

const SERVICE_METADATA = { client_name: "Reporting job", grant_types: ["client_credentials"], scope: "introspect_tokens" };
/** A client_credentials client that authenticates with its key (private_key_jwt). */
const KEY_CLIENT_METADATA = {
  grant_types: ["client_credentials"],
  scope: "revoke_tokens",
  token_endpoint_auth_method: "private_key_jwt",
  jwks: { keys: [EC_PUBLIC_JWK] },
};

interface Registered {
  client_id: string;
  client_secret?: string;
  registration_access_token: string;
  registration_client_uri: string;
  [name: string]: unknown;
}

async function registered(body: unknown = SERVICE_METADATA): Promise<Registered> {
  const res = await register(body, bearer(await serviceToken()));
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as Registered;
}

/** The audit rows of one event by one client (requests' events are written in batches: flushed first). */
async function auditEvents(event: string, clientId: string) {
  await flushAudit();
  return db().auditEvent.findMany({ where: { event, clientId }, orderBy: { createdAt: "asc" } });
}

const registeredCount = () => db().client.count({ where: { registrationTokenHash: { not: null } } });

describe("dynamic client registration (RFC 7591)", () => {
  it("discovery lists the registration endpoint", async () => {
    expect((await (await getDiscovery()).json()).registration_endpoint).toBe(REGISTER_URL);
  });

  it("registers a confidential client with demo-service's token: 201, its metadata, a secret and a registration token shown once", async () => {
    const res = await register(SERVICE_METADATA, bearer(await serviceToken()));
    expect(res.status).toBe(201);
    expectNoStore(res);
    const body = (await res.json()) as Registered;
    expect(body).toEqual({
      client_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      client_id_issued_at: expect.any(Number),
      client_name: "Reporting job",
      grant_types: ["client_credentials"],
      scope: "introspect_tokens",
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "ES256",
      ropc_allowed_origins: [],
      dpop_bound_access_tokens: false,
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      client_secret_expires_at: 0,
      registration_access_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      registration_client_uri: `${REGISTER_URL}?client_id=${body.client_id}`,
    });
    // Stored hashed, never as given.
    const row = await db().client.findFirstOrThrow({ where: { clientId: body.client_id } });
    expect(row.registrationTokenHash).toMatch(/^sha256\$/);
    expect(JSON.stringify(row)).not.toContain(body.registration_access_token);
    expect((await auditEvents("client.register", "demo-service")).at(-1)).toMatchObject({ outcome: "success" });
    expect((await auditEvents("admin.client.add", "demo-service")).at(-1)).toMatchObject({ reason: body.client_id });
  });

  it("the registered client authenticates and uses its grant", async () => {
    const client = await registered();
    const res = await postToken({ grant_type: "client_credentials" }, { Authorization: basic(client.client_id, client.client_secret ?? "") });
    expect(res.status).toBe(200);
    expect((await res.json()).scope).toBe("introspect_tokens");
  });

  it("registers a public password client: no secret, and it signs alice in", async () => {
    const client = await registered({ grant_types: ["password", "refresh_token"], scope: "openid profile", token_endpoint_auth_method: "none" });
    expect(client.client_secret).toBeUndefined();
    expect(client.client_name).toBe(client.client_id);
    const tokens = await signIn({ client_id: client.client_id, username: "alice", password: "alice-password-1", scope: "openid" });
    expect(tokens.scope).toBe("openid");
  });

  it("answers a missing or malformed initial access token with 401 and a Bearer challenge", async () => {
    for (const headers of [{}, { Authorization: "Basic abc" }, bearer("not-a-token")]) {
      const res = await register(SERVICE_METADATA, headers);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="http:\/\/localhost:3000\/demo\/default", error="invalid_token"/);
      expect((await res.json()).error).toBe("invalid_token");
    }
  });

  it("answers a token without register_clients with 403 insufficient_scope", async () => {
    const res = await register(SERVICE_METADATA, bearer(await serviceToken("introspect_tokens")));
    expect(res.status).toBe(403);
    expect(res.headers.get("www-authenticate")).toContain(
      'error="insufficient_scope", error_description="the access token lacks the register_clients scope", scope="register_clients"',
    );
    expect((await res.json()).error).toBe("insufficient_scope");
  });

  it("refuses another workspace's token and an end user's token with 401", async () => {
    await createWorkspace({ ref: "demo/other", name: "Other" });
    const other = await adminAddClient({ workspace: "demo/other", clientId: "registrar", grants: ["client_credentials"], scopes: ["register_clients"] });
    const foreign = await serviceToken("register_clients", { Authorization: basic("registrar", other.secret ?? "") }, { workspace: "other" });
    const before = await registeredCount();
    const user = await signIn({ client_id: "demo-spa", username: "alice", password: "alice-password-1" });
    for (const token of [foreign, user.access_token]) {
      const res = await register(SERVICE_METADATA, bearer(token));
      expect(res.status).toBe(401);
      expect((await res.json()).error).toBe("invalid_token");
    }
    expect(await registeredCount()).toBe(before);
  });

  it.each([
    ["no grant_types", { scope: "openid" }, "invalid_client_metadata"],
    ["an unknown grant type", { grant_types: ["authorization_code"] }, "invalid_client_metadata"],
    ["grant_types not an array", { grant_types: "client_credentials" }, "invalid_client_metadata"],
    ["a public client with client_credentials", { grant_types: ["client_credentials"], token_endpoint_auth_method: "none" }, "invalid_client_metadata"],
    ["an unknown auth method", { grant_types: ["password"], token_endpoint_auth_method: "tls_client_auth" }, "invalid_client_metadata"],
    ["private_key_jwt without keys", { grant_types: ["client_credentials"], token_endpoint_auth_method: "private_key_jwt" }, "invalid_client_metadata"],
    [
      "token_endpoint_auth_signing_alg HS256 for private_key_jwt",
      {
        grant_types: ["client_credentials"],
        scope: "revoke_tokens",
        token_endpoint_auth_method: "private_key_jwt",
        jwks: { keys: [EC_PUBLIC_JWK] },
        token_endpoint_auth_signing_alg: "HS256",
      },
      "invalid_client_metadata",
    ],
    [
      "token_endpoint_auth_signing_alg for a secret method",
      { grant_types: ["client_credentials"], scope: "revoke_tokens", token_endpoint_auth_signing_alg: "ES256" },
      "invalid_client_metadata",
    ],
    [
      "token_endpoint_auth_signing_alg not a string",
      { grant_types: ["client_credentials"], scope: "revoke_tokens", token_endpoint_auth_signing_alg: ["ES256"] },
      "invalid_client_metadata",
    ],
    ["jwks and jwks_uri both", { grant_types: ["client_credentials"], jwks: { keys: [] }, jwks_uri: "https://keys.example/jwks" }, "invalid_client_metadata"],
    ["a malformed scope", { grant_types: ["password"], scope: 'openid "x"' }, "invalid_client_metadata"],
    ["the right to register clients itself", { grant_types: ["client_credentials"], scope: "register_clients" }, "invalid_client_metadata"],
    ["a scope demo-service does not hold", { grant_types: ["client_credentials"], scope: "introspect_tokens unheard_of" }, "invalid_client_metadata"],
    ["an unknown ID token alg", { grant_types: ["password"], id_token_signed_response_alg: "none" }, "invalid_client_metadata"],
    ["a bad origin", { grant_types: ["password"], ropc_allowed_origins: ["not an origin"] }, "invalid_client_metadata"],
    ["client_name not a string", { grant_types: ["password"], client_name: 42 }, "invalid_client_metadata"],
    ["an empty client_name", { grant_types: ["password"], client_name: " " }, "invalid_client_metadata"],
    ["dpop_bound_access_tokens not a boolean", { grant_types: ["password"], dpop_bound_access_tokens: "yes" }, "invalid_client_metadata"],
    ["response types", { grant_types: ["password"], response_types: ["code"] }, "invalid_client_metadata"],
    ["redirect URIs", { grant_types: ["password"], redirect_uris: ["https://app.example/cb"] }, "invalid_redirect_uri"],
    ["a body that is not an object", [], "invalid_request"],
  ])("refuses %s with 400 %s", async (_, body, error) => {
    const before = await registeredCount();
    const res = await register(body, bearer(await serviceToken()));
    expect(res.status).toBe(400);
    expectNoStore(res);
    expect((await res.json()).error).toBe(error);
    expect(await registeredCount()).toBe(before);
  });

  it("refuses a registrar whose register_clients an operator took away, though its token still carries it: 403", async () => {
    const token = await registrarToken("former-registrar", ["register_clients", "introspect_tokens"]);
    await setClient("demo/default", "former-registrar", { scopes: ["introspect_tokens"] });
    const before = await registeredCount();
    const res = await register(SERVICE_METADATA, bearer(token));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "insufficient_scope" });
    expect(await registeredCount()).toBe(before);
  });

  it("gives a registered client no scope its registrar does not hold, though another client of the workspace has it", async () => {
    const token = await registrarToken("narrow-registrar", ["register_clients", "revoke_tokens"]);
    const before = await registeredCount();
    const res = await register({ grant_types: ["client_credentials"], scope: "revoke_tokens introspect_tokens" }, bearer(token));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid_client_metadata",
      error_description: "scope may hold only scopes the registering client has itself (and user scopes): not introspect_tokens",
    });
    expect(await registeredCount()).toBe(before);
    // Its own scopes, and scopes that describe a user (granted only when a user signs in), it may give.
    const ok = await register({ grant_types: ["password", "refresh_token"], scope: "openid profile email offline_access revoke_tokens" }, bearer(token));
    expect(ok.status).toBe(201);
    expect((await ok.json()).scope).toBe("openid profile email offline_access revoke_tokens");
  });

  it("registers token_endpoint_auth_signing_alg and answers it; an update without it unpins", async () => {
    const body = KEY_CLIENT_METADATA;
    const client = await registered({ ...body, token_endpoint_auth_signing_alg: "ES256" });
    expect(client).toMatchObject({ token_endpoint_auth_method: "private_key_jwt", token_endpoint_auth_signing_alg: "ES256" });
    expect(client.client_secret).toBeUndefined();
    const read = await (await manage(client.registration_client_uri, "GET", client.registration_access_token)).json();
    expect(read.token_endpoint_auth_signing_alg).toBe("ES256");
    const updated = await (
      await manage(client.registration_client_uri, "PUT", client.registration_access_token, { ...body, client_id: client.client_id })
    ).json();
    expect(updated.token_endpoint_auth_signing_alg).toBeUndefined();
  });

  it("accepts an empty redirect_uris, dpop_bound_access_tokens false, and ignores unknown metadata (§2)", async () => {
    const client = await registered({ ...SERVICE_METADATA, redirect_uris: [], dpop_bound_access_tokens: false, logo_uri: "https://x.example/logo.png" });
    expect(client.logo_uri).toBeUndefined();
  });
});

describe("client registration management (RFC 7592)", () => {
  it("reads the registration with the registration access token, without the secret; the token, unchanged, in it (RFC 7592 §3)", async () => {
    const client = await registered();
    const res = await manage(client.registration_client_uri, "GET", client.registration_access_token);
    expect(res.status).toBe(200);
    expectNoStore(res);
    const { client_secret, client_secret_expires_at, ...metadata } = client;
    expect([client_secret, client_secret_expires_at]).not.toContain(undefined);
    // A client that keeps the answer as its registration keeps its token too.
    expect(await res.json()).toEqual(metadata);
    const put = await manage(client.registration_client_uri, "PUT", client.registration_access_token, { ...SERVICE_METADATA, client_id: client.client_id });
    expect(put.status).toBe(200);
    expect((await put.json()).registration_access_token).toBe(client.registration_access_token);
    expect(await auditEvents("client.registration.read", client.client_id)).toMatchObject([{ outcome: "success" }]);
  });

  it("refuses ropc_password_reset_uri at registration: any user's reset link would be mailed to a page the registrar chose", async () => {
    const before = await registeredCount();
    const res = await register(
      { grant_types: ["password"], scope: "openid", ropc_password_reset_uri: "https://evil.example/reset" },
      bearer(await serviceToken()),
    );
    expect(res.status).toBe(400);
    expectNoStore(res);
    expect(await res.json()).toEqual({
      error: "invalid_client_metadata",
      error_description:
        "a registered client may not set ropc_password_reset_uri: any user's reset link is mailed to it, so an operator sets it (client set --password-reset-uri)",
    });
    expect(await registeredCount()).toBe(before);
  });

  it("lets an update keep the reset page an operator set, or drop it, but never set another", async () => {
    const client = await registered({ grant_types: ["password"], scope: "openid" });
    const put = (extra: Record<string, unknown>) =>
      manage(client.registration_client_uri, "PUT", client.registration_access_token, {
        client_id: client.client_id,
        grant_types: ["password"],
        scope: "openid",
        ...extra,
      });
    const resetUri = async () => (await db().client.findFirstOrThrow({ where: { clientId: client.client_id } })).passwordResetUri;

    const added = await put({ ropc_password_reset_uri: "https://evil.example/reset" });
    expect(added.status).toBe(400);
    expect((await added.json()).error).toBe("invalid_client_metadata");
    expect(await resetUri()).toBeNull();

    await setClient("demo/default", client.client_id, { passwordResetUri: "https://app.example/reset" });
    const read = await (await manage(client.registration_client_uri, "GET", client.registration_access_token)).json();
    expect(read.ropc_password_reset_uri).toBe("https://app.example/reset");
    const kept = await put({ ropc_password_reset_uri: "https://app.example/reset" });
    expect(kept.status).toBe(200);
    expect((await kept.json()).ropc_password_reset_uri).toBe("https://app.example/reset");
    const moved = await put({ ropc_password_reset_uri: "https://evil.example/reset" });
    expect(moved.status).toBe(400);
    expect(await resetUri()).toBe("https://app.example/reset");
    // Sent back without it (RFC 7592 §2.2: a field left out goes back to its default), it is gone.
    const dropped = await put({});
    expect(dropped.status).toBe(200);
    expect(await dropped.json()).not.toHaveProperty("ropc_password_reset_uri");
    expect(await resetUri()).toBeNull();
  });

  it("gives the account scope only from a registrar that holds it: its tokens manage the user's account", async () => {
    const before = await registeredCount();
    const res = await register({ grant_types: ["password"], scope: "openid account" }, bearer(await serviceToken()));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid_client_metadata",
      error_description: "scope may hold only scopes the registering client has itself (and user scopes): not account",
    });
    expect(await registeredCount()).toBe(before);
    // Nor may a registered client add it to itself.
    const client = await registered({ grant_types: ["password"], scope: "openid" });
    const put = await manage(client.registration_client_uri, "PUT", client.registration_access_token, {
      client_id: client.client_id,
      grant_types: ["password"],
      scope: "openid account",
    });
    expect(put.status).toBe(400);
    expect(await put.json()).toEqual({
      error: "invalid_client_metadata",
      error_description: "scope may hold only scopes the client has now (and user scopes): not account",
    });
    // A registrar an operator gave it may.
    const token = await registrarToken("account-registrar", ["register_clients", "account"]);
    const ok = await register({ grant_types: ["password"], scope: "openid account" }, bearer(token));
    expect(ok.status).toBe(201);
    expect((await ok.json()).scope).toBe("openid account");
  });

  it("replaces the metadata with PUT under the same rules; the secret and the registration token stay", async () => {
    const client = await registered({ ...SERVICE_METADATA, scope: "introspect_tokens revoke_tokens" });
    const res = await manage(client.registration_client_uri, "PUT", client.registration_access_token, {
      client_id: client.client_id,
      client_secret: client.client_secret,
      grant_types: ["client_credentials"],
      scope: "revoke_tokens",
    });
    expect(res.status).toBe(200);
    const body = await res.json();
    // Left out, the name goes back to its default.
    expect(body).toMatchObject({ client_name: client.client_id, scope: "revoke_tokens" });
    const token = await postToken({ grant_type: "client_credentials" }, { Authorization: basic(client.client_id, client.client_secret ?? "") });
    expect((await token.json()).scope).toBe("revoke_tokens");
    expect((await manage(client.registration_client_uri, "GET", client.registration_access_token)).status).toBe(200);
    expect(await auditEvents("admin.client.set", client.client_id)).toHaveLength(1);
  });

  it.each([
    ["another client_id", () => ({ ...SERVICE_METADATA, client_id: "demo-service" }), 400, "invalid_request"],
    ["a wrong client_secret", (c: Registered) => ({ ...SERVICE_METADATA, client_id: c.client_id, client_secret: "wrong" }), 400, "invalid_request"],
    [
      "a change of type",
      (c: Registered) => ({ client_id: c.client_id, grant_types: ["password"], token_endpoint_auth_method: "none" }),
      400,
      "invalid_client_metadata",
    ],
    [
      "redirect URIs",
      (c: Registered) => ({ ...SERVICE_METADATA, client_id: c.client_id, redirect_uris: ["https://a.example/cb"] }),
      400,
      "invalid_redirect_uri",
    ],
    // Even one its registrar holds: widening takes a new registration, or an operator.
    [
      "a scope the client does not have now",
      (c: Registered) => ({ ...SERVICE_METADATA, client_id: c.client_id, scope: "introspect_tokens revoke_tokens" }),
      400,
      "invalid_client_metadata",
    ],
    // Nor a grant: a client_credentials job that gave itself the password grant would sign users in.
    [
      "a grant the client does not have now",
      (c: Registered) => ({ ...SERVICE_METADATA, client_id: c.client_id, grant_types: ["client_credentials", "password", "refresh_token"] }),
      400,
      "invalid_client_metadata",
    ],
    [
      "keys and a jwks_uri together",
      (c: Registered) => ({ ...SERVICE_METADATA, client_id: c.client_id, jwks: { keys: [EC_PUBLIC_JWK] }, jwks_uri: "https://keys.example/jwks" }),
      400,
      "invalid_client_metadata",
    ],
    // Its secret would stay behind, usable again once a later PUT switched back.
    [
      "a switch from its secret to keys",
      (c: Registered) => ({ ...SERVICE_METADATA, client_id: c.client_id, token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [EC_PUBLIC_JWK] } }),
      400,
      "invalid_client_metadata",
    ],
    // Its secret is kept only as a hash: an HMAC with it could never be checked.
    [
      "a switch to client_secret_jwt",
      (c: Registered) => ({ ...SERVICE_METADATA, client_id: c.client_id, token_endpoint_auth_method: "client_secret_jwt" }),
      400,
      "invalid_client_metadata",
    ],
  ])("refuses a PUT with %s", async (_, body, status, error) => {
    const client = await registered();
    const res = await manage(client.registration_client_uri, "PUT", client.registration_access_token, body(client));
    expect(res.status).toBe(status);
    expect((await res.json()).error).toBe(error);
    const read = await (await manage(client.registration_client_uri, "GET", client.registration_access_token)).json();
    expect(read).toMatchObject({ scope: "introspect_tokens", grant_types: ["client_credentials"], token_endpoint_auth_method: "client_secret_basic" });
    expect(read.jwks).toBeUndefined();
  });

  it("gives a registered client no grant by PUT that it does not have: the password grant stays refused", async () => {
    const client = await registered();
    const widened = { ...SERVICE_METADATA, client_id: client.client_id, grant_types: ["client_credentials", "password"], scope: "introspect_tokens openid" };
    const res = await manage(client.registration_client_uri, "PUT", client.registration_access_token, widened);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid_client_metadata",
      error_description: "grant_types may hold only grants the client has now: not password (widening takes a new registration or an operator)",
    });
    const signIn = await postToken(
      { grant_type: "password", username: "alice", password: "alice-password-1", scope: "openid" },
      { Authorization: basic(client.client_id, client.client_secret ?? "") },
    );
    expect(signIn.status).toBe(400);
    expect((await signIn.json()).error).toBe("unauthorized_client");
    // Dropping one is an update like any other.
    const both = await registered({ ...SERVICE_METADATA, grant_types: ["client_credentials", "password"] });
    const narrowed = await manage(both.registration_client_uri, "PUT", both.registration_access_token, { ...SERVICE_METADATA, client_id: both.client_id });
    expect(narrowed.status).toBe(200);
    expect((await narrowed.json()).grant_types).toEqual(["client_credentials"]);
  });

  it("keeps what an operator tightened: a PUT adds no browser origin and does not turn DPoP binding off", async () => {
    const client = await registered({ ...SERVICE_METADATA, ropc_allowed_origins: ["https://app.example"] });
    await setClient("demo/default", client.client_id, { dpopBoundAccessTokens: true });
    const put = (body: Record<string, unknown>) =>
      manage(client.registration_client_uri, "PUT", client.registration_access_token, { ...SERVICE_METADATA, client_id: client.client_id, ...body });
    const unbound = await put({ ropc_allowed_origins: ["https://app.example"] });
    expect(unbound.status).toBe(400);
    expect(await unbound.json()).toEqual({
      error: "invalid_client_metadata",
      error_description: "dpop_bound_access_tokens may not be turned off by an update: an operator does it (client set)",
    });
    const origin = await put({ ropc_allowed_origins: ["https://app.example", "https://evil.example"], dpop_bound_access_tokens: true });
    expect(origin.status).toBe(400);
    expect(await origin.json()).toEqual({
      error: "invalid_client_metadata",
      error_description:
        "ropc_allowed_origins may hold only origins the client has now: not https://evil.example (widening takes a new registration or an operator)",
    });
    const read = await (await manage(client.registration_client_uri, "GET", client.registration_access_token)).json();
    expect(read).toMatchObject({ ropc_allowed_origins: ["https://app.example"], dpop_bound_access_tokens: true });
    // Sent back as it reads, or narrower, it is an update like any other.
    const kept = await put({ dpop_bound_access_tokens: true });
    expect(kept.status).toBe(200);
    expect(await kept.json()).toMatchObject({ ropc_allowed_origins: [], dpop_bound_access_tokens: true });
  });

  it("refuses a key client's switch to a secret by PUT: it would have no secret to authenticate with", async () => {
    const body = KEY_CLIENT_METADATA;
    const client = await registered(body);
    const res = await manage(client.registration_client_uri, "PUT", client.registration_access_token, {
      client_id: client.client_id,
      grant_types: ["client_credentials"],
      scope: "revoke_tokens",
      token_endpoint_auth_method: "client_secret_basic",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: "invalid_client_metadata",
      error_description: "an update keeps how the client authenticates (private_key_jwt): register a new client to change between a secret and keys",
    });
    expect((await (await manage(client.registration_client_uri, "GET", client.registration_access_token)).json()).token_endpoint_auth_method).toBe(
      "private_key_jwt",
    );
  });

  it("answers for a client an operator disabled as for an unknown one: 401, nothing read, changed or deleted", async () => {
    const client = await registered();
    await setClient("demo/default", client.client_id, { disabled: true });
    for (const method of ["GET", "PUT", "DELETE"] as const) {
      const res = await manage(
        client.registration_client_uri,
        method,
        client.registration_access_token,
        method === "PUT" ? { ...SERVICE_METADATA, client_id: client.client_id, scope: "" } : undefined,
      );
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "invalid_token", error_description: "the registration access token is invalid" });
    }
    const row = await db().client.findFirstOrThrow({ where: { clientId: client.client_id } });
    expect(row).toMatchObject({ disabled: true, scopes: "introspect_tokens" });
  });

  it("deletes the client with DELETE: 204, audited, and it can no longer authenticate", async () => {
    const client = await registered();
    const res = await manage(client.registration_client_uri, "DELETE", client.registration_access_token);
    expect(res.status).toBe(204);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toBe("");
    expect(await db().client.count({ where: { clientId: client.client_id } })).toBe(0);
    expect(await auditEvents("client.registration.delete", client.client_id)).toMatchObject([{ outcome: "success" }]);
    expect(await auditEvents("admin.client.delete", client.client_id)).toHaveLength(1);
    const token = await postToken({ grant_type: "client_credentials" }, { Authorization: basic(client.client_id, client.client_secret ?? "") });
    expect(token.status).toBe(401);
    expect((await manage(client.registration_client_uri, "GET", client.registration_access_token)).status).toBe(401);
  });

  it("answers two DELETEs at once with 204 and, for the one that finds the client gone, 401 as for an unknown client", async () => {
    const client = await registered();
    const answers = await Promise.all([1, 2].map(() => manage(client.registration_client_uri, "DELETE", client.registration_access_token)));
    expect(answers.map((r) => r.status).sort()).toEqual([204, 401]);
    const lost = answers.find((r) => r.status === 401)!;
    expect(await lost.json()).toEqual({ error: "invalid_token", error_description: "the registration access token is invalid" });
    // A PUT beside a DELETE is answered alike (ten times: on PostgreSQL the PUT's read and its
    // write can fall on either side of the DELETE's commit).
    for (let round = 0; round < 10; round += 1) {
      const other = await registered();
      const [deleted, put] = await Promise.all([
        manage(other.registration_client_uri, "DELETE", other.registration_access_token),
        manage(other.registration_client_uri, "PUT", other.registration_access_token, { ...SERVICE_METADATA, client_id: other.client_id }),
      ]);
      expect(deleted.status).toBe(204);
      expect([200, 401]).toContain(put.status);
    }
  });

  it("removes the keys a PUT leaves out (§2.2): refused for private_key_jwt, which needs them", async () => {
    const body = KEY_CLIENT_METADATA;
    const client = await registered(body);
    const { jwks: _, ...withoutKeys } = body;
    const refused = await manage(client.registration_client_uri, "PUT", client.registration_access_token, { ...withoutKeys, client_id: client.client_id });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: "invalid_client_metadata",
      error_description: "private_key_jwt needs the client's public keys (--jwks <file> or --jwks-uri <url>)",
    });
    const read = await (await manage(client.registration_client_uri, "GET", client.registration_access_token)).json();
    expect(read.jwks).toEqual({ keys: [EC_PUBLIC_JWK] });
    // Sent again, they are kept; a jwks_uri in their place replaces them.
    const kept = await manage(client.registration_client_uri, "PUT", client.registration_access_token, { ...body, client_id: client.client_id });
    expect((await kept.json()).jwks).toEqual({ keys: [EC_PUBLIC_JWK] });
    const moved = await manage(client.registration_client_uri, "PUT", client.registration_access_token, {
      ...withoutKeys,
      jwks_uri: "https://keys.example/jwks",
      client_id: client.client_id,
    });
    expect(await moved.json()).toMatchObject({ jwks_uri: "https://keys.example/jwks" });
    expect((await (await manage(client.registration_client_uri, "GET", client.registration_access_token)).json()).jwks).toBeUndefined();
  });

  it("answers a wrong token, another client's token, an unknown client and an operator's client alike: 401", async () => {
    const client = await registered();
    const other = await registered();
    const cases: Array<[string, string]> = [
      [client.registration_client_uri, "wrong-token"],
      [client.registration_client_uri, other.registration_access_token],
      [client.registration_client_uri, client.client_secret ?? ""],
      [`${REGISTER_URL}?client_id=no-such-client`, client.registration_access_token],
      [`${REGISTER_URL}?client_id=demo-service`, client.registration_access_token],
      [REGISTER_URL, client.registration_access_token],
    ];
    for (const [uri, token] of cases) {
      for (const method of ["GET", "PUT", "DELETE"] as const) {
        const res = await manage(uri, method, token, method === "PUT" ? { ...SERVICE_METADATA, client_id: client.client_id } : undefined);
        expect(res.status).toBe(401);
        expect(res.headers.get("www-authenticate")).toContain('error="invalid_token", error_description="the registration access token is invalid"');
      }
    }
    expect((await manage(client.registration_client_uri, "GET", client.registration_access_token)).status).toBe(200);
  });
});
