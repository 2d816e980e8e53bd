import { createPublicKey, type JsonWebKey } from "node:crypto";
import { generateKeyPair, SignJWT, type JWK } from "jose";
import { mintAccessToken } from "@/lib/oauth/tokens/mint.ts";
import { findWorkspace } from "@/lib/oauth/store/workspaces.ts";
import { ISSUER } from "@/lib/testing/oauth.ts";

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** Access tokens that must be refused everywhere, each with how it was forged. */
export async function forgedTokens(publishedKey: JWK): Promise<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: ISSUER,
    sub: "someone",
    aud: ["demo-backend"],
    client_id: "demo-backend",
    exp: now + 3600,
    iat: now,
    nbf: now,
    jti: crypto.randomUUID(),
    scp: ["openid"],
    scope: "openid",
    tid: "demo",
    aid: "default",
    st: "public",
  };
  const other = await generateKeyPair("ES256");
  const publicPem = createPublicKey({ key: publishedKey as JsonWebKey, format: "jwk" }).export({ type: "spki", format: "pem" });
  const workspace = await findWorkspace("demo", "default");
  const expired = await mintAccessToken({
    workspace,
    clientId: "demo-backend",
    audiences: [],
    subject: "x",
    scope: ["openid"],
    ttl: 60,
    now: Date.now() - 3_600_000,
  });
  const otherIssuer = await mintAccessToken({
    workspace: { ...workspace, issuer: "http://localhost:3000/demo/other" },
    clientId: "demo-backend",
    audiences: [],
    subject: "x",
    scope: ["openid"],
    ttl: 3600,
  });
  return {
    "alg none": `${b64({ alg: "none", typ: "at+jwt" })}.${b64(claims)}.`,
    "HS256 keyed with our public key": await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: publishedKey.kid })
      .sign(new TextEncoder().encode(String(publicPem))),
    "an unknown kid": await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: "unknown" }).sign(other.privateKey),
    "our kid, another key": await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: publishedKey.kid! }).sign(other.privateKey),
    "no kid": await new SignJWT(claims).setProtectedHeader({ alg: "ES256", typ: "at+jwt" }).sign(other.privateKey),
    "another issuer": otherIssuer.token,
    expired: expired.token,
    garbage: "not-a-token",
    "three dots of garbage": "a.b.c",
  };
}
