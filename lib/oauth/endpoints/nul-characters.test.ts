import { describe, expect, it } from "vitest";
import { routes } from "@/lib/oauth/routes.ts";
import { call, ISSUER, postToken, SERVICE_BASIC } from "@/lib/testing/oauth.ts";

// PostgreSQL cannot store a NUL in text, and none of ours may hold one: the form refuses it
// (form.test.ts). These values reach the database by other ways: a client assertion's sub (read
// before any signature is checked), a JSON body's strings and the registration client URI's
// `client_id` (read before its token is checked). Each is refused as the input it is,
// on both databases, never a 500. (A DPoP proof's and an assertion's jti are stored hashed.)
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("a NUL character where a value reaches the database", () => {
  it("in a client assertion's sub: 401 invalid_client", async () => {
    const assertion = `${b64({ alg: "ES256", typ: "JWT" })}.${b64({ sub: "demo-\u0000service", iss: "demo-\u0000service" })}.c2ln`;
    const res = await postToken({
      grant_type: "client_credentials",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    });
    expect(res.status).toBe(401);
    expect((await res.json()).error).toBe("invalid_client");
  });

  it("in a JSON body's string or member name: 400 invalid_request", async () => {
    const token = await postToken({ grant_type: "client_credentials", scope: "register_clients" }, SERVICE_BASIC);
    const { access_token } = (await token.json()) as { access_token: string };
    for (const body of [
      { client_name: "Reporting\u0000job", grant_types: ["client_credentials"], scope: "introspect_tokens" },
      { "client_name\u0000": "Reporting job", grant_types: ["client_credentials"], scope: "introspect_tokens" },
    ]) {
      const res = await call(routes.registration, `${ISSUER}/oauth2/register`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${access_token}` },
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "invalid_request", error_description: "the request body must not contain NUL characters" });
    }
  });

  it("in the registration client URI's client_id: 401 invalid_token, as for an unknown client (RFC 7592 §2.1)", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const res = await call(routes.registration, `${ISSUER}/oauth2/register?client_id=demo-%00service`, {
        method,
        headers: { Authorization: "Bearer x", ...(method === "PUT" ? { "Content-Type": "application/json" } : {}) },
        ...(method === "PUT" ? { body: "{}" } : {}),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: "invalid_token", error_description: "the registration access token is invalid" });
    }
  });
});
