import { describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { cli } from "@/lib/testing/cli.ts";
import { postToken, SPA } from "@/lib/testing/oauth.ts";
import { DAVE, DAVE_SECRET, mfaTokenFor } from "@/lib/testing/mfa.ts";
import { MFA_FACTOR_MAX_WRONG_CODES } from "@/lib/oauth/model/mfa.ts";

const signIn = (fields: Record<string, string>) => postToken({ grant_type: "password", ...SPA, ...fields });

describe("admin: second factors and MFA policies", () => {
  it("lists a user's factors without their secrets", async () => {
    const { status, out } = await cli(["user", "factors", "demo/default", "dave"]);
    expect(status).toBe(0);
    expect(out).toMatch(/^id\s+type\s+state\s+created_at\s+confirmed_at\s+recovery_codes_left\n/);
    expect(out).toMatch(/\sotp\s+active\s.*\s10\n$/);
    expect(out).not.toContain(DAVE_SECRET);
    // Its codes refused after too many wrong ones in a row: the operator sees it.
    await db().mfaFactor.updateMany({ where: { user: { username: "dave" } }, data: { wrongCodes: MFA_FACTOR_MAX_WRONG_CODES } });
    expect((await cli(["user", "factors", "demo/default", "dave"])).out).toMatch(/\sotp\s+locked\s.*\s10\n$/);
    await db().mfaFactor.updateMany({ where: { user: { username: "dave" } }, data: { wrongCodes: 0 } });
    expect((await cli(["user", "factors", "demo/default", "alice"])).out).toBe("(none)\n");
    expect(await cli(["user", "factors", "demo/default", "nobody"])).toMatchObject({ status: 1, err: "Error: No user nobody in demo/default\n" });
  });

  it("sets the workspace's policy: required challenges alice, off lets dave in with his password", async () => {
    expect((await cli(["workspace", "set", "demo/default", "--mfa-policy", "required"])).status).toBe(0);
    expect((await signIn({ username: "alice", password: "alice-password-1" })).status).toBe(403);
    expect((await cli(["workspace", "list"])).out).toMatch(/demo\/default.*required/);
    expect((await cli(["workspace", "set", "demo/default", "--mfa-policy", "off"])).status).toBe(0);
    expect((await signIn(DAVE)).status).toBe(200);
    expect((await cli(["workspace", "set", "demo/default", "--mfa-policy", "optional"])).status).toBe(0);
    expect((await signIn(DAVE)).status).toBe(403);
    expect((await signIn({ username: "alice", password: "alice-password-1" })).status).toBe(200);
    expect((await cli(["workspace", "set", "demo/default", "--mfa-policy", "sometimes"])).status).not.toBe(0);
  });

  it("sets a client's policy, and inherit goes back to the workspace's", async () => {
    expect((await cli(["client", "set", "demo/default", "demo-spa", "--mfa-policy", "off"])).status).toBe(0);
    expect((await signIn(DAVE)).status).toBe(200);
    expect((await cli(["client", "list", "demo/default"])).out).toMatch(/demo-spa .*\soff\s/);
    expect((await cli(["client", "set", "demo/default", "demo-spa", "--mfa-policy", "inherit"])).status).toBe(0);
    expect((await signIn(DAVE)).status).toBe(403);
  });

  it("resets a user's factors: dave signs in with his password alone, pending sign-ins die, and it is audited", async () => {
    const pending = await mfaTokenFor();
    const { status, out } = await cli(["user", "reset-mfa", "demo/default", "dave"]);
    expect(status).toBe(0);
    expect(out).toBe("Removed 1 factor(s) of dave\n");
    expect(await db().mfaRecoveryCode.count()).toBe(0);
    expect(await db().mfaChallenge.count({ where: { user: { username: "dave" } } })).toBe(0);
    expect((await postToken({ grant_type: "http://auth0.com/oauth/grant-type/mfa-otp", ...SPA, mfa_token: pending, otp: "123456" })).status).toBe(400);
    expect((await signIn(DAVE)).status).toBe(200);
    const event = await db().auditEvent.findFirstOrThrow({ where: { event: "admin.user.reset_mfa" } });
    expect(event).toMatchObject({ outcome: "success", username: "dave", clientId: "cli" });
  });
});
