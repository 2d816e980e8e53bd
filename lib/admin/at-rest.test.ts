import { randomBytes } from "node:crypto";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { parseSettings } from "@/lib/platform/env.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { isSealed } from "@/lib/platform/at-rest.ts";
import { cli } from "@/lib/testing/cli.ts";
import { withKey } from "@/lib/testing/at-rest.ts";
import { readiness } from "@/lib/operations/health.ts";
import { codeAt, DAVE, DAVE_RECOVERY_CODES, DAVE_SECRET, MFA_OTP, MFA_RECOVERY_CODE, mfaTokenFor } from "@/lib/testing/mfa.ts";
import { ALICE, getJwks, introspect, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";

const KEY = randomBytes(32).toString("base64");

afterEach(() => {
  withKey(undefined);
  clearCaches();
});

/** Every stored secret's text, as a reader of the database sees it. */
async function storedSecrets() {
  return [
    ...(await db().signingKey.findMany()).map((k) => k.privateJwk),
    ...(await db().serverSecret.findMany()).map((x) => x.value),
    ...(await db().mfaFactor.findMany()).map((f) => f.secret),
  ];
}

/** A full round: sign-in, the ID token against the published keys, a refresh, dave's code, introspection. */
async function everythingWorks(secondStep: Record<string, string>) {
  clearCaches();
  const tokens = await signIn({ ...SPA, ...ALICE, scope: "openid profile" });
  const keys = createLocalJWKSet((await (await getJwks()).json()) as JSONWebKeySet);
  expect((await jwtVerify(tokens.id_token ?? "", keys)).payload.sub).toBeDefined();
  const refreshed = await postToken({ grant_type: "refresh_token", ...SPA, refresh_token: tokens.refresh_token });
  expect(refreshed.status).toBe(200);
  expect((await introspect((await refreshed.json()).access_token)).active).toBe(true);
  // dave's TOTP secret and recovery codes are read through the seal too.
  const second = await postToken({ ...SPA, ...secondStep, mfa_token: await mfaTokenFor({ ...SPA, ...DAVE }) });
  expect(second.status).toBe(200);
}

describe("secrets at rest under KEY_ENCRYPTION_KEY", () => {
  it("key seal seals every plain secret, once; the server keeps working with them; rotation writes sealed keys", async () => {
    // A refresh makes the server's refresh-successor secret.
    const { refresh_token } = await signIn();
    expect((await postToken({ grant_type: "refresh_token", ...SPA, refresh_token })).status).toBe(200);
    expect((await storedSecrets()).some((s) => !isSealed(s))).toBe(true);
    withKey(KEY);
    const first = await cli(["key", "seal"]);
    expect(first.status).toBe(0);
    expect(first.out).toMatch(
      /^Sealed with KEY_ENCRYPTION_KEY: [1-9]\d* signing key\(s\), 1 server secret\(s\), [1-9]\d* TOTP secret\(s\), 0 client secret\(s\); the rest was sealed already\n$/,
    );
    const stored = await storedSecrets();
    expect(stored.every(isSealed)).toBe(true);
    expect(stored.join("\n")).not.toContain(DAVE_SECRET);
    expect(stored.join("\n")).not.toMatch(/"d":/);
    expect((await cli(["key", "seal"])).out).toMatch(/: 0 signing key\(s\), 0 server secret\(s\), 0 TOTP secret\(s\), 0 client secret\(s\)/);
    await everythingWorks({ grant_type: MFA_OTP, otp: codeAt(DAVE_SECRET) });
    expect((await cli(["key", "rotate", "--delay", "0"])).status).toBe(0);
    expect((await storedSecrets()).every(isSealed)).toBe(true);
    await everythingWorks({ grant_type: MFA_RECOVERY_CODE, recovery_code: DAVE_RECOVERY_CODES[9] ?? "" });
    expect(await db().auditEvent.count({ where: { event: "admin.key.seal" } })).toBe(2);
  });

  it("without the key, or with another, a sealed secret is refused by name, never used", async () => {
    withKey(KEY);
    expect((await cli(["key", "seal"])).status).toBe(0);
    for (const [key, message] of [
      [undefined, /is sealed, and KEY_ENCRYPTION_KEY is not set: set it to the key it was sealed with/],
      [randomBytes(32).toString("base64"), /was sealed with another KEY_ENCRYPTION_KEY/],
    ] as const) {
      withKey(key);
      clearCaches();
      const res = await postToken({ grant_type: "password", ...SPA, username: "alice", password: "alice-password-1" });
      expect(res.status).toBe(500);
      expect(await res.json()).toEqual({ error: "server_error", error_description: "the server could not handle the request" });
      const ready = await readiness();
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toMatchObject({ checks: { signing_key: "failed" } });
      if (key !== undefined) expect((await cli(["key", "seal"])).err).toMatch(message);
    }
  });

  it("key rotate refuses a KEY_ENCRYPTION_KEY that does not open the keys in use, or none for sealed ones, and changes nothing", async () => {
    withKey(KEY);
    expect((await cli(["key", "seal"])).status).toBe(0);
    const keys = () => db().signingKey.findMany({ select: { kid: true, privateJwk: true }, orderBy: { kid: "asc" } });
    const before = await keys();
    for (const [key, message] of [
      [
        randomBytes(32).toString("base64"),
        /was sealed with another KEY_ENCRYPTION_KEY .*: set KEY_ENCRYPTION_KEY in this shell as it is on the servers; nothing was changed\n$/,
      ],
      [undefined, /is sealed, and KEY_ENCRYPTION_KEY is not set.*: set KEY_ENCRYPTION_KEY in this shell as it is on the servers; nothing was changed\n$/],
    ] as const) {
      withKey(key);
      const { status, err } = await cli(["key", "rotate"]);
      expect(status).toBe(1);
      expect(err).toMatch(message);
      expect(await keys()).toEqual(before);
    }
    // With the servers' key it rotates, and the servers go on signing with every key opened.
    withKey(KEY);
    expect((await cli(["key", "rotate"])).status).toBe(0);
    expect((await keys()).every((k) => k.privateJwk.startsWith("sealed:"))).toBe(true);
    clearCaches();
    expect((await readiness()).status).toBe(200);
  });

  it("key seal without KEY_ENCRYPTION_KEY says what to set", async () => {
    withKey(undefined);
    const { status, err } = await cli(["key", "seal"]);
    expect(status).toBe(1);
    expect(err).toBe(
      "Error: KEY_ENCRYPTION_KEY is not set: it must be 32 random bytes in base64 (make one with: openssl rand -base64 32); set the same value on every instance, then run this again\n",
    );
  });

  it("refuses a malformed KEY_ENCRYPTION_KEY at start, naming it", () => {
    expect(() => parseSettings({ KEY_ENCRYPTION_KEY: "too-short" })).toThrow(/KEY_ENCRYPTION_KEY.*must be 32 random bytes in base64/s);
  });
});
