import { createPrivateKey, type JsonWebKey } from "node:crypto";
import { SignJWT } from "jose";
import { expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { openAtRest } from "@/lib/platform/at-rest.ts";
import { createSigningKey } from "@/lib/oauth/store/signing-keys.ts";
import { signingKeyContext } from "@/lib/oauth/model/sealed-contexts.ts";
import { findWorkspace } from "@/lib/oauth/store/workspaces.ts";
import { keySet } from "@/lib/oauth/tokens/keys.ts";
import { checkAccessToken } from "@/lib/oauth/tokens/verify.ts";

// A file of its own: this process's key cache must be loaded at the real time (other tests load
// it at times to come, to force reloads).
it("verifies a token signed by a key another instance made after this one loaded its keys (two first starts at once)", async () => {
  const workspace = await findWorkspace("demo", "default");
  const cached = await keySet();
  // Another instance's key, made now and stored where this one reads, without this process's cache knowing.
  const kid = await createSigningKey(db(), new Date(Date.now() - 1000), "ES256");
  expect(cached.verifier(kid, "ES256")).toBeUndefined();
  const row = await db().signingKey.findUniqueOrThrow({ where: { kid } });
  const key = createPrivateKey({ key: JSON.parse(openAtRest(row.privateJwk, signingKeyContext(kid))) as JsonWebKey, format: "jwk" });
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ client_id: "demo-backend", jti: crypto.randomUUID(), scope: "introspect_tokens" })
    .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid })
    .setIssuer(workspace.issuer)
    .setSubject("demo-backend")
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(key);
  // Past a second since the load: the keys are read again for the unknown kid.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expect(await checkAccessToken(token, workspace)).toMatchObject({ valid: true, claims: { client_id: "demo-backend" } });
  // A made-up kid is refused, and reads nothing again within the second.
  const again = await keySet();
  const forged = `${Buffer.from(JSON.stringify({ alg: "ES256", typ: "at+jwt", kid: "made-up" })).toString("base64url")}.${token.split(".")[1]}.${token.split(".")[2]}`;
  expect(await checkAccessToken(forged, workspace)).toEqual({ valid: false, reason: "ERR_JWKS_NO_MATCHING_KEY" });
  expect(await keySet()).toBe(again);
});
