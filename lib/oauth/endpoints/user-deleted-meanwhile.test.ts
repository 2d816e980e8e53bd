import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mfaUserGone } from "@/lib/oauth/endpoints/mfa/caller.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { findWorkspace } from "@/lib/oauth/store/workspaces.ts";
import { db } from "@/lib/platform/db.ts";
import { passwordVerifier } from "@/lib/platform/passwords.ts";
import { basic, call, ISSUER, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";

// A user deleted (by an operator, or by their own request from another device) while one of their
// requests runs: its writes then find no user. The request is answered as one whose token or
// credentials stopped being valid, not with a 500.

const WEB = { Authorization: basic("demo-web", "demo-web-secret") };

afterEach(() => {
  vi.restoreAllMocks();
});

/** A user of the demo workspace for one test, with alice's password. */
async function newUser() {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  const user = await db().user.create({ data: { workspaceId, username: `gone-${randomUUID()}`, passwordHash, email: "gone@example.com" } });
  return { id: user.id, username: user.username, password: "alice-password-1" };
}

/** Deletes the user while their password is being verified: after the request found them, before it writes. */
function deleteDuringVerification(userId: string) {
  const verify = passwordVerifier.verify.bind(passwordVerifier);
  vi.spyOn(passwordVerifier, "verify").mockImplementation(async (hash, password) => {
    await db().user.deleteMany({ where: { id: userId } });
    return verify(hash, password);
  });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe("a user deleted while their request runs", () => {
  it("password grant (past the password): invalid_grant", async () => {
    const user = await newUser();
    deleteDuringVerification(user.id);
    const res = await postToken({ grant_type: "password", ...SPA, username: user.username, password: user.password });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the user no longer exists" });
  });

  it("POST /account/password: invalid_token, with the challenge of the scheme used", async () => {
    const user = await newUser();
    const { access_token } = await signIn({ username: user.username, password: user.password, scope: "openid account" }, WEB);
    deleteDuringVerification(user.id);
    const res = await call(routes.accountPassword, `${ISSUER}/account/password`, {
      body: { current_password: user.password, new_password: "a brand new passphrase" },
      headers: bearer(access_token),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="${ISSUER}", error="invalid_token", error_description="the access token is invalid"`);
    expect(await res.json()).toEqual({ error: "invalid_token", error_description: "the access token is invalid" });
  });

  it("POST /mfa/associate: invalid_token", async () => {
    const user = await newUser();
    const { access_token } = await signIn({ username: user.username, password: user.password, scope: "openid" }, WEB);
    deleteDuringVerification(user.id);
    const res = await call(routes.mfaAssociate, `${ISSUER}/mfa/associate`, {
      body: { authenticator_types: '["otp"]', password: user.password },
      headers: bearer(access_token),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "invalid_token", error_description: "the access token is invalid" });
  });

  it("any other failure stays a server_error, whether or not the user is still there", async () => {
    const user = await newUser();
    const { access_token } = await signIn({ username: user.username, password: user.password, scope: "openid account" }, WEB);
    vi.spyOn(passwordVerifier, "verify").mockImplementation(async () => {
      await db().user.deleteMany({ where: { id: user.id } });
      throw new Error("the hash's thread pool broke");
    });
    const res = await call(routes.accountPassword, `${ISSUER}/account/password`, {
      body: { current_password: user.password, new_password: "a brand new passphrase" },
      headers: bearer(access_token),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "server_error", error_description: "the server could not handle the request" });
  });

  it("an mfa_token's request is told its mfa_token is invalid, an access token's its access token", async () => {
    const workspace = await findWorkspace("demo", "default");
    const asked = (authorization: string) => {
      const error = mfaUserGone({ method: "POST", url: `${ISSUER}/mfa/associate`, headers: new Headers({ authorization }), body: null } as never, workspace);
      return [error.status, error.description, error.headers["WWW-Authenticate"]];
    };
    expect(asked("Bearer an-opaque-mfa-token")).toEqual([
      401,
      "the mfa_token is invalid or expired",
      `Bearer realm="${ISSUER}", error="invalid_token", error_description="the mfa_token is invalid or expired"`,
    ]);
    expect(asked("DPoP a.b.c")).toEqual([
      401,
      "the access token is invalid",
      `DPoP realm="${ISSUER}", error="invalid_token", error_description="the access token is invalid", algs="ES256 RS256 PS256 EdDSA"`,
    ]);
  });

  it("a failure of a user who is still there stays a server_error", async () => {
    const user = await newUser();
    const { access_token } = await signIn({ username: user.username, password: user.password, scope: "openid account" }, WEB);
    vi.spyOn(passwordVerifier, "verify").mockRejectedValue(new Error("the hash's thread pool broke"));
    const res = await call(routes.accountPassword, `${ISSUER}/account/password`, {
      body: { current_password: user.password, new_password: "a brand new passphrase" },
      headers: bearer(access_token),
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "server_error", error_description: "the server could not handle the request" });
  });
});
