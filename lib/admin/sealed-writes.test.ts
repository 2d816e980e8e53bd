import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { isSealed, SealedValueError } from "@/lib/platform/at-rest.ts";
import { cli } from "@/lib/testing/cli.ts";
import { withKey } from "@/lib/testing/at-rest.ts";
import { serverSecret } from "@/lib/oauth/store/server-secrets.ts";
import { startEnrolment } from "@/lib/oauth/store/mfa.ts";
import { createSigningKey } from "@/lib/oauth/store/signing-keys.ts";

// A process without KEY_ENCRYPTION_KEY (a shell where it was not exported) wrote new secrets in
// clear into a database whose secrets were sealed: a copy of the database then yielded them.

const KEY = randomBytes(32).toString("base64");
const REFUSAL = /would be written in clear beside secrets sealed with KEY_ENCRYPTION_KEY, which is not set: set it as it is on the servers/;

afterEach(() => {
  withKey(undefined);
  clearCaches();
});

/** Seals what the database keeps, then forgets the key, as a shell without it would. */
async function sealedThenKeyless() {
  withKey(KEY);
  expect((await cli(["key", "seal"])).status).toBe(0);
  withKey(undefined);
  clearCaches();
}

/** `client add` of a client_secret_jwt client (whose secret is kept, sealed when the key is set). */
const addHmacClient = (clientId: string) =>
  cli(["client", "add", "demo/default", clientId, "--grants", "client_credentials", "--scopes", "introspect_tokens", "--auth-methods", "client_secret_jwt"]);

const storedSecretOf = (clientId: string) => db().client.findFirstOrThrow({ where: { clientId }, select: { secretHash: true, jwtSecret: true } });

describe("a secret written without KEY_ENCRYPTION_KEY into a sealed database", () => {
  it("is written in clear into a database with no sealed secret, as before (this file's first test: the others seal its database)", async () => {
    expect((await addHmacClient("hmac-plain")).status).toBe(0);
    const { jwtSecret } = await storedSecretOf("hmac-plain");
    expect(jwtSecret).not.toBeNull();
    expect(isSealed(jwtSecret ?? "")).toBe(false);
    expect((await serverSecret("sealed-writes-plain")).length).toBe(32);
  });

  it("client add and rotate-secret with client_secret_jwt are refused, and write nothing", async () => {
    await sealedThenKeyless();
    const added = await addHmacClient("hmac-reports");
    expect(added).toMatchObject({ status: 1, out: "", err: expect.stringMatching(REFUSAL) });
    expect(added.err).toMatch(/; nothing was changed\n$/);
    expect(await db().client.count({ where: { clientId: "hmac-reports" } })).toBe(0);

    // A client made while the key was set: rotating its secret without it changes nothing.
    withKey(KEY);
    expect((await addHmacClient("hmac-sealed")).status).toBe(0);
    const before = await storedSecretOf("hmac-sealed");
    expect(isSealed(before.jwtSecret ?? "")).toBe(true);
    withKey(undefined);
    const rotated = await cli(["client", "rotate-secret", "demo/default", "hmac-sealed", "--yes"]);
    expect(rotated).toMatchObject({ status: 1, out: "", err: expect.stringMatching(REFUSAL) });
    expect(await storedSecretOf("hmac-sealed")).toEqual(before);
  });

  it("a new server secret and a TOTP enrolment are refused by name, and write nothing", async () => {
    await sealedThenKeyless();
    await expect(serverSecret("sealed-writes-test")).rejects.toThrow(SealedValueError);
    await expect(serverSecret("sealed-writes-test")).rejects.toThrow(REFUSAL);
    expect(await db().serverSecret.count({ where: { name: "sealed-writes-test" } })).toBe(0);

    const user = await db().user.findFirstOrThrow({ where: { username: "bob" } });
    await expect(startEnrolment(user.id, "JBSWY3DPEHPK3PXP", ["a"])).rejects.toThrow(REFUSAL);
    expect(await db().mfaFactor.count({ where: { userId: user.id } })).toBe(0);
  });

  it("a new signing key is refused too (key rotate refused already: the keys in use do not open)", async () => {
    await sealedThenKeyless();
    const count = await db().signingKey.count();
    await expect(createSigningKey()).rejects.toThrow(REFUSAL);
    expect(await db().signingKey.count()).toBe(count);
  });
});
