import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import * as oauth from "oauth4webapi";
import { beforeAll, describe, expect, it } from "vitest";
import { atHash } from "@/lib/oauth/tokens/mint.ts";
import { SIGNING_ALGS, type SigningAlg } from "@/lib/oauth/protocol/algorithms.ts";
import { runCli } from "@/lib/cli/program.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { addClient, ALICE, basic, getDiscovery, getJwks, inProcessFetch, ISSUER, postIntrospect, postToken } from "@/lib/testing/oauth.ts";

const clientOf = (alg: SigningAlg) => `idt-${alg.toLowerCase()}`;
const SECRET = "id-token-alg-secret";

beforeAll(async () => {
  for (const alg of SIGNING_ALGS) {
    await addClient(clientOf(alg), {
      secret: SECRET,
      grantTypes: "password refresh_token",
      scopes: "openid profile email offline_access introspect_tokens",
      idTokenSignedResponseAlg: alg,
    });
  }
});

async function signInAs(clientId: string, scope = "openid profile email offline_access") {
  const res = await postToken({ grant_type: "password", scope, ...ALICE }, { Authorization: basic(clientId, SECRET) });
  expect(res.status).toBe(200);
  return (await res.json()) as { access_token: string; id_token: string; refresh_token: string };
}

describe("ID tokens in the client's id_token_signed_response_alg (OIDC Core §15.1)", () => {
  it.each(SIGNING_ALGS)("signs %s ID tokens that verify against the published JWKS with jose; the access token stays ES256", async (alg) => {
    const tokens = await signInAs(clientOf(alg));
    const jwks = createLocalJWKSet((await (await getJwks()).json()) as JSONWebKeySet);
    const { payload, protectedHeader } = await jwtVerify(tokens.id_token, jwks, { algorithms: [alg], issuer: ISSUER, audience: clientOf(alg) });
    expect(protectedHeader).toMatchObject({ alg, typ: "JWT" });
    expect(payload.at_hash).toBe(atHash(tokens.access_token, alg));
    expect(decodeProtectedHeader(tokens.access_token).alg).toBe("ES256");
    // The access token is still one our resource endpoints accept.
    const introspection = await postIntrospect({ token: tokens.access_token }, { Authorization: basic(clientOf(alg), SECRET) });
    expect((await introspection.json()).active).toBe(true);
  });

  it.each(SIGNING_ALGS)("keeps %s for the ID token of a refresh", async (alg) => {
    const tokens = await signInAs(clientOf(alg));
    const res = await postToken({ grant_type: "refresh_token", refresh_token: tokens.refresh_token }, { Authorization: basic(clientOf(alg), SECRET) });
    expect(res.status).toBe(200);
    expect(decodeProtectedHeader((await res.json()).id_token).alg).toBe(alg);
  });

  it.each(SIGNING_ALGS)("passes oauth4webapi's ID token validation and signature check for %s", async (alg) => {
    const options = { [oauth.customFetch]: inProcessFetch, [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(new URL(ISSUER), await oauth.discoveryRequest(new URL(ISSUER), { ...options, algorithm: "oidc" }));
    const client: oauth.Client = { client_id: clientOf(alg), id_token_signed_response_alg: alg };
    const response = await oauth.genericTokenEndpointRequest(as, client, oauth.ClientSecretBasic(SECRET), "password", { ...ALICE, scope: "openid" }, options);
    const result = await oauth.processGenericTokenEndpointResponse(as, client, response);
    expect(oauth.getValidatedIdTokenClaims(result)?.aud).toBe(clientOf(alg));
    await expect(oauth.validateApplicationLevelSignature(as, response, options)).resolves.toBeUndefined();
  });

  it("signs the default client's ID tokens in ES256, as before", async () => {
    const res = await postToken({ grant_type: "password", client_id: "demo-spa", scope: "openid", ...ALICE });
    expect(decodeProtectedHeader((await res.json()).id_token).alg).toBe("ES256");
  });

  it("lists every algorithm in discovery", async () => {
    expect((await (await getDiscovery()).json()).id_token_signing_alg_values_supported).toEqual(["ES256", "RS256", "EdDSA"]);
  });

  it("is set with the admin CLI, and an unknown or symmetric algorithm is refused", async () => {
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), readSecret: async () => "", interactive: false, confirm: async () => false };
    expect(await runCli(["client", "set", "demo/default", clientOf("ES256"), "--id-token-alg", "RS256"], io)).toBe(0);
    clearCaches();
    expect(decodeProtectedHeader((await signInAs(clientOf("ES256"))).id_token).alg).toBe("RS256");
    expect(await runCli(["client", "set", "demo/default", clientOf("ES256"), "--id-token-alg", "HS256"], io)).toBe(1);
    expect(await runCli(["client", "set", "demo/default", clientOf("ES256"), "--id-token-alg", "none"], io)).toBe(1);
    expect(await runCli(["client", "set", "demo/default", clientOf("ES256"), "--id-token-alg", "ES256"], io)).toBe(0);
    clearCaches();
    expect(decodeProtectedHeader((await signInAs(clientOf("ES256"))).id_token).alg).toBe("ES256");
  });
});
