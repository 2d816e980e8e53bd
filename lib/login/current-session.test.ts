import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { describeToken } from "@/lib/login/current-session.ts";
import { TokenViewer } from "@/app/account/token-viewer.tsx";
import { signIn } from "@/lib/testing/oauth.ts";

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

describe("describeToken: what /account shows of a token", () => {
  it("decodes a JWT's header and claims", async () => {
    const { access_token } = await signIn();
    const shown = describeToken(access_token);
    expect(shown).toMatchObject({ kind: "jwt", header: { alg: "ES256", typ: "at+jwt" }, claims: { iss: "http://localhost:3000/demo/default" } });
  });

  // RFC 6749 §1.4: an access token is opaque to its client. None of these may throw (a 500 on /account).
  it.each([
    ["an opaque random token", "Yp0rT7x2Q9mN4kLw8sVb3cZf6hJd1aGe5uIo0pRy"],
    ["an opaque token with dots", "ory_at_abc.def.ghi"],
    ["three segments whose middle is not JSON", `${b64({ alg: "none" })}.${b64("not json")}.x`],
    ["three segments whose header is not JSON", `${b64("{")}.${b64({ sub: "x" })}.x`],
    ["a JSON header without alg", `${b64({ typ: "JWT" })}.${b64({ sub: "x" })}.x`],
    ["a JSON array for claims", `${b64({ alg: "ES256" })}.${b64([1, 2])}.x`],
    ["a JWE (five segments)", `${b64({ alg: "RSA-OAEP", enc: "A256GCM" })}.a.b.c.d`],
    ["an empty string", ""],
  ])("shows %s as opaque, with the expiry the token response gave", (_name, token) => {
    expect(describeToken(token, 1_700_000_000_000)).toEqual({ kind: "opaque", expiresAt: 1_700_000_000_000 });
  });

  it("renders an opaque token as such, with no header or claims", () => {
    const html = renderToStaticMarkup(
      createElement(TokenViewer, { title: "Access token", testId: "access-token", token: describeToken("opaque-token", Date.now() + 60_000) }),
    );
    expect(html).toContain('data-testid="access-token-opaque"');
    expect(html).toContain("An opaque token");
    expect(html).not.toContain("access-token-claims");
  });

  it("renders a JWT's header and claims", async () => {
    const { access_token } = await signIn();
    const html = renderToStaticMarkup(createElement(TokenViewer, { title: "Access token", testId: "access-token", token: describeToken(access_token) }));
    expect(html).toContain('data-testid="access-token-claims"');
    expect(html).not.toContain("access-token-opaque");
  });
});
