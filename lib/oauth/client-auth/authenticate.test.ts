import { describe, expect, it } from "vitest";
import { parseBasic } from "@/lib/oauth/client-auth/methods/client-secret-basic.ts";
import { presentedClient } from "@/lib/oauth/client-auth/authenticate.ts";
import { parseUrlEncoded } from "@/lib/oauth/protocol/form.ts";
import { basic } from "@/lib/testing/oauth.ts";

const REALM = "http://localhost:3000/demo/default";
const b64 = (s: string) => `Basic ${Buffer.from(s).toString("base64")}`;

describe("parseBasic (RFC 6749 §2.3.1)", () => {
  it.each([
    ["plain", basic("demo-backend", "demo-backend-secret"), "demo-backend", "demo-backend-secret"],
    ["+ % : in the secret", basic("c", "a+b%c:d"), "c", "a+b%c:d"],
    ["a colon in the id", basic("a:b", "s"), "a:b", "s"],
    ["non-ASCII", basic("c", "pässwörd"), "c", "pässwörd"],
    ["scheme in any case", b64("c:s").replace("Basic", "bAsIc"), "c", "s"],
    ["a literal + in the raw header decodes as a space", b64("c:a+b"), "c", "a b"],
  ])("decodes %s", (_name, header, clientId, secret) => {
    expect(parseBasic(header, REALM)).toEqual({ clientId, secret });
  });

  it.each([
    ["another scheme", "Bearer abc"],
    ["no credentials", "Basic"],
    ["extra parts", "Basic YTpi extra"],
    ["not base64", "Basic !!!"],
    ["no colon", b64("client")],
    ["an empty id", b64(":secret")],
    ["an empty secret", b64("client:")],
    ["bad percent-encoding", b64("c:%ZZ")],
    ["invalid UTF-8", `Basic ${Buffer.from([0x63, 0x3a, 0xff]).toString("base64")}`],
  ])("refuses %s with 401 invalid_client and a Basic challenge", (_name, header) => {
    expect(() => parseBasic(header, REALM)).toThrow(
      expect.objectContaining({
        error: "invalid_client",
        status: 401,
        headers: { "WWW-Authenticate": `Basic realm="${REALM}"` },
      }),
    );
  });
});

describe("presentedClient: exactly one method (RFC 6749 §2.3)", () => {
  const params = (text: string) => parseUrlEncoded(text);
  const request = (authorization: string | null) =>
    new Request("http://localhost:3000/", { method: "POST", headers: authorization ? { Authorization: authorization } : {} });
  const shown = ({ method, clientId, credential }: ReturnType<typeof presentedClient>) => ({
    method: method.name,
    clientId,
    ...(credential === undefined ? {} : { secret: credential }),
  });

  it.each([
    ["Basic", basic("demo-backend", "s"), "", { method: "client_secret_basic", clientId: "demo-backend", secret: "s" }],
    [
      "Basic with the same client_id in the body",
      basic("demo-backend", "s"),
      "client_id=demo-backend",
      { method: "client_secret_basic", clientId: "demo-backend", secret: "s" },
    ],
    ["client_secret_post", null, "client_id=demo-backend&client_secret=s", { method: "client_secret_post", clientId: "demo-backend", secret: "s" }],
    ["none", null, "client_id=demo-spa", { method: "none", clientId: "demo-spa" }],
    ["none, with an empty secret counted as absent", null, "client_id=demo-spa&client_secret=", { method: "none", clientId: "demo-spa" }],
  ])("%s", (_name, authorization, body, expected) => {
    expect(shown(presentedClient(request(authorization), params(body), REALM))).toEqual(expected);
  });

  it.each([
    ["Basic plus a body secret", basic("demo-backend", "s"), "client_secret=s", "invalid_request", 400],
    ["Basic plus another client_id", basic("demo-backend", "s"), "client_id=demo-spa", "invalid_request", 400],
    ["nothing at all", null, "", "invalid_client", 401],
    ["a secret without an id", null, "client_secret=s", "invalid_client", 401],
  ])("refuses %s", (_name, authorization, body, error, status) => {
    expect(() => presentedClient(request(authorization), params(body), REALM)).toThrow(expect.objectContaining({ error, status }));
  });
});

describe("authenticateClient: the authenticated client", () => {
  const authenticate = async (authorization: string, body = "") => {
    const { authenticateClient } = await import("@/lib/oauth/client-auth/authenticate.ts");
    const { findWorkspace } = await import("@/lib/oauth/store/workspaces.ts");
    const workspace = await findWorkspace("demo", "default");
    const headers: Record<string, string> = authorization ? { Authorization: authorization } : {};
    const request = new Request(`${REALM}/oauth2/token`, { method: "POST", headers });
    return authenticateClient(request, parseUrlEncoded(body), workspace, "198.51.100.9");
  };

  it("is one frozen object while its settings are cached, one per method, and follows a change once the cache is cleared", async () => {
    const { clearCaches } = await import("@/lib/platform/caches.ts");
    const { db } = await import("@/lib/platform/db.ts");
    const { addClient } = await import("@/lib/testing/oauth.ts");
    await addClient("copy-test", { secret: "copy-test-secret", authMethods: "client_secret_basic client_secret_post" });
    const first = await authenticate(basic("copy-test", "copy-test-secret"));
    const again = await authenticate(basic("copy-test", "copy-test-secret"));
    expect(again).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.authMethod).toBe("client_secret_basic");
    expect(first.confidential).toBe(true);
    expect(() => Object.assign(first, { scopes: new Set(["admin"]) })).toThrow(TypeError);

    const byPost = await authenticate("", "client_id=copy-test&client_secret=copy-test-secret");
    expect(byPost).not.toBe(first);
    expect(byPost.authMethod).toBe("client_secret_post");

    await db().client.update({ where: { workspaceId_clientId: { workspaceId: first.workspaceId, clientId: "copy-test" } }, data: { scopes: "openid" } });
    expect((await authenticate(basic("copy-test", "copy-test-secret"))).scopes).toEqual(first.scopes);
    clearCaches("settings");
    const changed = await authenticate(basic("copy-test", "copy-test-secret"));
    expect(changed).not.toBe(first);
    expect([...changed.scopes]).toEqual(["openid"]);
    expect([...first.scopes].sort()).toEqual(["email", "openid", "profile"]);
  });
});
