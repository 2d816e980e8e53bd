import { decodeJwt } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { settings } from "@/lib/platform/env.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { routes, type WorkspaceRoute } from "@/lib/oauth/routes.ts";
import { endSession } from "@/lib/oauth/store/sessions.ts";
import { call, expectNoStore, ISSUER, postToken, routeContext, signIn, SPA } from "@/lib/testing/oauth.ts";
import { codeAt, DAVE, MFA_OTP, MFA_RECOVERY_CODE, mfaTokenFor } from "@/lib/testing/mfa.ts";

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const JSON_TYPE = { "Content-Type": "application/json" };

const listAuthenticators = (token?: string) => call(routes.mfaAuthenticators, `${ISSUER}/mfa/authenticators`, { headers: token ? bearer(token) : {} });
const associate = (token: string, body: string | Record<string, string>, headers: Record<string, string> = {}) =>
  call(routes.mfaAssociate, `${ISSUER}/mfa/associate`, { body, headers: { ...bearer(token), ...headers } });
const confirm = (token: string, body: Record<string, string>) => call(routes.mfaConfirm, `${ISSUER}/mfa/confirm`, { body, headers: bearer(token) });
const remove = (token: string, body: Record<string, string>) => call(routes.mfaRemove, `${ISSUER}/mfa/remove`, { body, headers: bearer(token) });
const regenerate = (token: string, body: Record<string, string>) =>
  call(routes.mfaRecoveryCodes, `${ISSUER}/mfa/recovery-codes`, { body, headers: bearer(token) });

/** A user of the demo workspace for one test, with alice's password. */
async function newUser(username: string) {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  await db().user.create({ data: { workspaceId, username, passwordHash, name: username, email: `${username}@example.com` } });
  return { username, password: "alice-password-1" };
}

/** RFC 9470 §3: the password refused as proof from a session that never passed the second factor. */
async function expectStepUp(res: Response) {
  expect(res.status).toBe(401);
  const description = "this session signed in without two-step verification: prove it is you with a current code (otp), or sign in with it";
  expect(await res.json()).toEqual({ error: "insufficient_user_authentication", error_description: description });
  expect(res.headers.get("www-authenticate")).toBe(`Bearer realm="${ISSUER}", error="insufficient_user_authentication", error_description="${description}"`);
}

/** Waits out a TOTP time step without sleeping: the clock (Date only) moves on. */
function nextStep() {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now() + 30_000);
}

/**
 * A request to an /mfa endpoint whose form body is held back until `release()`: `read` resolves
 * once the endpoint asks for the body, by when it has read the caller's factors.
 */
function heldBack(route: WorkspaceRoute, path: string, token: string, fields: Record<string, string>) {
  let release = () => {};
  let reading = () => {};
  const read = new Promise<void>((resolve) => (reading = resolve));
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        reading();
        return new Promise<void>((resolve) => {
          release = () => {
            controller.enqueue(new TextEncoder().encode(new URLSearchParams(fields).toString()));
            controller.close();
            resolve();
          };
        });
      },
    },
    { highWaterMark: 0 },
  );
  const init = { method: "POST", body, duplex: "half", headers: { ...bearer(token), "Content-Type": "application/x-www-form-urlencoded" } };
  const response = route.POST!(new Request(`${ISSUER}/mfa/${path}`, init as RequestInit), routeContext());
  return { read, release: () => release(), response };
}

describe("GET /mfa/authenticators", () => {
  it("lists dave's factors for his mfa_token, Auth0's shape", async () => {
    const factor = await db().mfaFactor.findFirstOrThrow({ where: { user: { username: "dave" } } });
    const res = await listAuthenticators(await mfaTokenFor());
    expect(res.status).toBe(200);
    expectNoStore(res);
    expect(await res.json()).toEqual([
      { id: `otp|${factor.id}`, authenticator_type: "otp", active: true },
      { id: `recovery-code|${factor.id}`, authenticator_type: "recovery-code", active: true },
    ]);
  });

  it("needs a token: none is a bare 401 challenge in both schemes, a bad one invalid_token", async () => {
    const none = await listAuthenticators();
    expect(none.status).toBe(401);
    // Both schemes these endpoints take (RFC 9449 §7.1), the DPoP one naming the proof algorithms.
    expect(none.headers.get("www-authenticate")).toBe(`Bearer realm="${ISSUER}", DPoP realm="${ISSUER}", algs="ES256 RS256 PS256 EdDSA"`);
    const bad = await listAuthenticators("not-an-mfa-token");
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: "invalid_token", error_description: "the mfa_token is invalid or expired" });
  });
});

describe("the required policy: enrolment during sign-in", () => {
  it("challenges a user without a factor, lets them associate, and the first mfa-otp grant confirms", async () => {
    const erin = await newUser("erin");
    await db().client.update({
      where: { workspaceId_clientId: { workspaceId: (await db().workspace.findFirstOrThrow()).id, clientId: "demo-spa" } },
      data: { mfaPolicy: "required" },
    });
    clearCaches("settings");
    try {
      const mfaToken = await mfaTokenFor({ ...SPA, ...erin });
      expect(await (await listAuthenticators(mfaToken)).json()).toEqual([]);
      const res = await associate(mfaToken, JSON.stringify({ authenticator_types: ["otp"] }), JSON_TYPE);
      expect(res.status).toBe(200);
      expectNoStore(res);
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(["authenticator_type", "barcode_uri", "recovery_codes", "secret"]);
      expect(body.authenticator_type).toBe("otp");
      expect(body.secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(body.barcode_uri).toBe(`otpauth://totp/demo%2Fdefault:erin?issuer=demo%2Fdefault&secret=${body.secret}&algorithm=SHA1&digits=6&period=30`);
      expect(body.recovery_codes).toHaveLength(10);
      for (const code of body.recovery_codes) expect(code).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
      // Pending: not listed, and its recovery codes do not work yet.
      expect(await (await listAuthenticators(mfaToken)).json()).toEqual([]);
      expect((await postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: mfaToken, recovery_code: body.recovery_codes[0] })).status).toBe(400);
      const done = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(body.secret) });
      expect(done.status).toBe(200);
      expect(decodeJwt((await done.json()).access_token).amr).toEqual(["pwd", "otp", "mfa"]);
      expect(await db().mfaFactor.findFirstOrThrow({ where: { user: { username: "erin" } } })).toMatchObject({ confirmedAt: expect.any(Date) });
      // Enrolled: the next sign-in asks for the factor, and a second enrolment is refused.
      const next = await mfaTokenFor({ ...SPA, ...erin });
      const again = await associate(next, { authenticator_types: "otp" });
      expect(again.status).toBe(400);
      expect(await again.json()).toEqual({ error: "invalid_request", error_description: "two-step verification is already set up; remove it first" });
    } finally {
      await db().client.updateMany({ where: { clientId: "demo-spa" }, data: { mfaPolicy: null } });
      clearCaches("settings");
    }
  });

  it("lets a client's policy override the workspace's: off signs dave in with his password alone", async () => {
    await db().client.updateMany({ where: { clientId: "demo-spa" }, data: { mfaPolicy: "off" } });
    clearCaches("settings");
    try {
      const tokens = await signIn({ ...SPA, ...DAVE });
      expect(decodeJwt(tokens.access_token).amr).toEqual(["pwd"]);
    } finally {
      await db().client.updateMany({ where: { clientId: "demo-spa" }, data: { mfaPolicy: null } });
      clearCaches("settings");
    }
  });
});

describe("enrolment from a signed-in session", () => {
  it("associates, confirms with a current code, then gates sign-in; removal needs a code or the password", async () => {
    const fay = await newUser("fay");
    const { access_token } = await signIn({ ...SPA, ...fay });
    const res = await associate(access_token, { authenticator_types: '["otp"]', password: fay.password });
    expect(res.status).toBe(200);
    const { secret, recovery_codes } = await res.json();
    // Until confirmed it gates nothing.
    expect((await postToken({ grant_type: "password", ...SPA, ...fay })).status).toBe(200);
    expect(await (await listAuthenticators(access_token)).json()).toEqual([]);

    const wrong = await confirm(access_token, { otp: "000000" });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: "invalid_grant", error_description: "the code is invalid" });
    const ok = await confirm(access_token, { otp: codeAt(secret) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: expect.stringMatching(/^otp\|/), authenticator_type: "otp", active: true });
    expect((await listAuthenticators(access_token)).status).toBe(200);
    expect(await mfaTokenFor({ ...SPA, ...fay })).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // This session signed in with the password alone: the password no longer proves a change.
    await expectStepUp(await regenerate(access_token, { password: fay.password }));
    // Fresh recovery codes, with a current code: the old ones stop working.
    nextStep();
    const regenerated = await regenerate(access_token, { otp: codeAt(secret) });
    expect(regenerated.status).toBe(200);
    const { recovery_codes: fresh } = await regenerated.json();
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(recovery_codes[0]);
    const old = await postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: await mfaTokenFor({ ...SPA, ...fay }), recovery_code: recovery_codes[0] });
    expect(old.status).toBe(400);
    const usedFresh = await postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: await mfaTokenFor({ ...SPA, ...fay }), recovery_code: fresh[0] });
    expect(usedFresh.status).toBe(200);
    expect((await usedFresh.json()).recovery_codes_remaining).toBe(9);

    // Removal: neither proof, both, a wrong one, then a current code.
    expect(await (await remove(access_token, {})).json()).toEqual({
      error: "invalid_request",
      error_description: "send either otp (a current code) or password",
    });
    expect((await remove(access_token, { otp: "1", password: "x" })).status).toBe(400);
    await expectStepUp(await remove(access_token, { password: "not-her-password" }));
    expect((await remove(access_token, { otp: "000000" })).status).toBe(400);
    nextStep();
    const removed = await remove(access_token, { otp: codeAt(secret) });
    expect(removed.status).toBe(204);
    expect(removed.headers.get("cache-control")).toBe("no-store");
    expect(await db().mfaFactor.count({ where: { user: { username: "fay" } } })).toBe(0);
    expect((await postToken({ grant_type: "password", ...SPA, ...fay })).status).toBe(200);
  });

  it("adds a factor from a session only with the user's password: a stolen token alone cannot", async () => {
    const ida = await newUser("ida");
    const { access_token } = await signIn({ ...SPA, ...ida });
    const without = await associate(access_token, { authenticator_types: "otp" });
    expect(without.status).toBe(400);
    expect(await without.json()).toEqual({
      error: "invalid_request",
      error_description: "the password parameter is required: a signed-in user adds a factor with their password",
    });
    const failures = await db().failedLogin.count({ where: { username: "ida" } });
    const wrong = await associate(access_token, { authenticator_types: "otp", password: "not-ida's-password" });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: "invalid_grant", error_description: "the password is invalid" });
    // Counted like any other wrong password.
    expect(await db().failedLogin.count({ where: { username: "ida" } })).toBe(failures + 1);
    // Nothing was started: no pending factor, and the next sign-in needs no code.
    expect(await db().mfaFactor.count({ where: { user: { username: "ida" } } })).toBe(0);
    expect((await postToken({ grant_type: "password", ...SPA, ...ida })).status).toBe(200);
    await flushAudit();
    const rows = await db().auditEvent.findMany({ where: { username: "ida", event: "mfa.associate" }, orderBy: { createdAt: "asc" } });
    expect(rows.map((r) => r.outcome)).toEqual(["failure", "failure"]);
    const ok = await associate(access_token, { authenticator_types: "otp", password: ida.password });
    expect(ok.status).toBe(200);
  });

  it("takes the password as proof only from a session that passed the second factor (RFC 9470 step-up)", async () => {
    const gus = await newUser("gus");
    // A session of whoever else has the password, from before the enrolment.
    const before = await signIn({ ...SPA, ...gus });
    const { access_token } = await signIn({ ...SPA, ...gus });
    const { secret } = await (await associate(access_token, { authenticator_types: "otp", password: gus.password })).json();
    expect((await confirm(access_token, { otp: codeAt(secret) })).status).toBe(200);
    for (const token of [before.access_token, access_token]) {
      await expectStepUp(await remove(token, { password: gus.password }));
      await expectStepUp(await regenerate(token, { password: gus.password }));
    }
    // Nothing changed, and nothing was counted as a wrong password.
    expect(await db().mfaFactor.count({ where: { user: { username: "gus" }, confirmedAt: { not: null } } })).toBe(1);
    expect(await db().failedLogin.count({ where: { username: "gus" } })).toBe(0);
    // Signed in with the code, the password does.
    nextStep();
    const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor({ ...SPA, ...gus }), otp: codeAt(secret) });
    expect(res.status).toBe(200);
    const stepped = ((await res.json()) as { access_token: string }).access_token;
    expect(decodeJwt(stepped).amr).toEqual(["pwd", "otp", "mfa"]);
    expect((await regenerate(stepped, { password: gus.password })).status).toBe(200);
    expect((await remove(stepped, { password: gus.password })).status).toBe(204);
  });

  it("decides on the factor as it is once the body is in: a removal held back while the factor was confirmed needs a code", async () => {
    const ivy = await newUser("ivy");
    // Whoever else has the password, with a session from before the enrolment, opens a removal
    // while the owner's factor is pending, and holds its body back until it is confirmed.
    const before = await signIn({ ...SPA, ...ivy });
    const { access_token } = await signIn({ ...SPA, ...ivy });
    const { secret } = await (await associate(access_token, { authenticator_types: "otp", password: ivy.password })).json();
    const held = heldBack(routes.mfaRemove, "remove", before.access_token, { password: ivy.password });
    await held.read;
    expect((await confirm(access_token, { otp: codeAt(secret) })).status).toBe(200);
    held.release();
    await expectStepUp(await held.response);
    expect(await db().mfaFactor.count({ where: { user: { username: "ivy" }, confirmedAt: { not: null } } })).toBe(1);
  });

  it("never sets up a second factor beside one confirmed while the associate request's body was held back", async () => {
    const joy = await newUser("joy");
    const before = await signIn({ ...SPA, ...joy });
    const { access_token } = await signIn({ ...SPA, ...joy });
    const { secret } = await (await associate(access_token, { authenticator_types: "otp", password: joy.password })).json();
    const held = heldBack(routes.mfaAssociate, "associate", before.access_token, { authenticator_types: "otp", password: joy.password });
    await held.read;
    expect((await confirm(access_token, { otp: codeAt(secret) })).status).toBe(200);
    held.release();
    const res = await held.response;
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: "two-step verification is already set up; remove it first" });
    expect(await db().mfaFactor.count({ where: { user: { username: "joy" } } })).toBe(1);
  });

  it("gives no recovery codes for a factor removed while the request's body was held back: 400, nothing written", async () => {
    const max = await newUser("max");
    const { access_token } = await signIn({ ...SPA, ...max });
    const { secret } = await (await associate(access_token, { authenticator_types: "otp", password: max.password })).json();
    expect((await confirm(access_token, { otp: codeAt(secret) })).status).toBe(200);
    nextStep();
    const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor({ ...SPA, ...max }), otp: codeAt(secret) });
    const stepped = ((await res.json()) as { access_token: string }).access_token;
    const held = heldBack(routes.mfaRecoveryCodes, "recovery-codes", stepped, { password: max.password });
    await held.read;
    expect((await remove(stepped, { password: max.password })).status).toBe(204);
    held.release();
    const refused = await held.response;
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: "invalid_request", error_description: "two-step verification is not set up" });
    expect(await db().mfaFactor.count({ where: { user: { username: "max" } } })).toBe(0);
    expect(await db().mfaRecoveryCode.count({ where: { factor: { user: { username: "max" } } } })).toBe(0);
  });

  it("never confirms a second factor beside a confirmed one (left pending by an earlier version's race)", async () => {
    const kim = await newUser("kim");
    const { access_token } = await signIn({ ...SPA, ...kim });
    const { secret } = await (await associate(access_token, { authenticator_types: "otp", password: kim.password })).json();
    const user = await db().user.findFirstOrThrow({ where: { username: "kim" } });
    // A confirmed factor beside the pending one, as a confirmation that slipped in would have left it.
    await db().mfaFactor.create({ data: { userId: user.id, type: "otp", secret: "JBSWY3DPEHPK3PXP", confirmedAt: new Date() } });
    const res = await confirm(access_token, { otp: codeAt(secret) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: "two-step verification is already set up; remove it first" });
    expect(await db().mfaFactor.count({ where: { userId: user.id, confirmedAt: { not: null } } })).toBe(1);
  });

  it.each([
    ["remove", routes.mfaRemove],
    ["recovery-codes", routes.mfaRecoveryCodes],
  ] as const)("refuses /mfa/%s whose session ended while its body was held back: 401 invalid_token, nothing changed", async (path, route) => {
    const who = await newUser(`ended-${path}`);
    const { access_token } = await signIn({ ...SPA, ...who });
    const { secret } = await (await associate(access_token, { authenticator_types: "otp", password: who.password })).json();
    expect((await confirm(access_token, { otp: codeAt(secret) })).status).toBe(200);
    // A session that passed the second factor: its password proves a change.
    nextStep();
    const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor({ ...SPA, ...who }), otp: codeAt(secret) });
    const stepped = ((await res.json()) as { access_token: string }).access_token;
    const codes = await db().mfaRecoveryCode.findMany({ where: { factor: { user: { username: who.username } } }, select: { codeHash: true } });
    const held = heldBack(route, path, stepped, { password: who.password });
    await held.read;
    // Signed out meanwhile (from another session, a reset, an operator).
    await endSession(String(decodeJwt(stepped).sid));
    held.release();
    const refused = await held.response;
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: "invalid_token", error_description: "the access token is invalid" });
    expect(await db().mfaFactor.count({ where: { user: { username: who.username }, confirmedAt: { not: null } } })).toBe(1);
    expect(await db().mfaRecoveryCode.findMany({ where: { factor: { user: { username: who.username } } }, select: { codeHash: true } })).toEqual(codes);
  });

  it("takes the access token only for changes: an mfa_token is refused there", async () => {
    const mfaToken = await mfaTokenFor();
    for (const res of [
      await confirm(mfaToken, { otp: "123456" }),
      await remove(mfaToken, { password: DAVE.password }),
      await regenerate(mfaToken, { password: DAVE.password }),
    ]) {
      expect(res.status).toBe(403);
      expect((await res.json()).error).toBe("invalid_request");
    }
    expect(await db().mfaFactor.count({ where: { user: { username: "dave" } } })).toBe(1);
  });

  it("refuses an unsupported authenticator type", async () => {
    const { access_token } = await signIn();
    const res = await associate(access_token, JSON.stringify({ authenticator_types: ["oob"] }), JSON_TYPE);
    expect(res.status).toBe(400);
    // Readable as sent: error_description allows no quotes (RFC 6749 §5.2), which would read as "?".
    expect(await res.json()).toEqual({ error: "invalid_request", error_description: "authenticator_types must be otp, the only type supported" });
    for (const types of ["otp oob", "[]", "[ ]"]) {
      const also = await associate(access_token, { authenticator_types: types });
      expect(await also.json(), types).toMatchObject({ error: "invalid_request" });
    }
  });

  it("audits enrolment steps, never with a secret or code", async () => {
    const hal = await newUser("hal");
    const { access_token } = await signIn({ ...SPA, ...hal });
    const { secret, recovery_codes } = await (await associate(access_token, { authenticator_types: "otp", password: hal.password })).json();
    const code = codeAt(secret);
    await confirm(access_token, { otp: code });
    await flushAudit();
    const rows = await db().auditEvent.findMany({ where: { username: "hal", event: { startsWith: "mfa." } }, orderBy: { createdAt: "asc" } });
    expect(rows.map((r) => [r.event, r.outcome])).toEqual([
      ["mfa.associate", "success"],
      ["mfa.confirm", "success"],
    ]);
    const text = JSON.stringify(rows);
    for (const s of [secret, code, access_token, ...recovery_codes]) expect(text).not.toContain(s);
  });
});

describe("a signed-in user's proofs are counted per user, not per caller address", () => {
  // A login app calls these endpoints from its own server for all its users (one address); its
  // users signed in from theirs.
  const APP_SERVER = { [PEER_HEADER]: peerHeaderValue("10.0.0.5") };
  const fromApp = (route: WorkspaceRoute, path: string, token: string, body: Record<string, string>) =>
    call(route, `${ISSUER}${path}`, { body, headers: { ...bearer(token), ...APP_SERVER } });

  it("one user's wrong passwords never lock another user of the same caller out of their account page", async () => {
    vi.spyOn(settings(), "LOCKOUT_IP_LIMIT", "get").mockReturnValue(3);
    const enrolled = async (username: string, ip: string) => {
      const user = await newUser(username);
      const { access_token } = await signIn({ ...SPA, ...user }, { [PEER_HEADER]: peerHeaderValue(ip) });
      const { secret } = await (await associate(access_token, { authenticator_types: "otp", password: user.password })).json();
      expect((await fromApp(routes.mfaConfirm, "/mfa/confirm", access_token, { otp: codeAt(secret) })).status).toBe(200);
      // Signed in again with the code: a session whose password proves changes.
      const mfa_token = await mfaTokenFor({ ...SPA, ...user }, { [PEER_HEADER]: peerHeaderValue(ip) });
      const stepped = await postToken(
        { grant_type: MFA_OTP, ...SPA, mfa_token, otp: codeAt(secret, Date.now() + 30_000) },
        { [PEER_HEADER]: peerHeaderValue(ip) },
      );
      expect(stepped.status).toBe(200);
      return { ...user, access_token: ((await stepped.json()) as { access_token: string }).access_token };
    };
    const [hank, iris] = [await enrolled("hank", "198.51.100.71"), await enrolled("iris", "198.51.100.72")];
    for (let i = 0; i < 3; i++) {
      const res = await fromApp(routes.mfaRemove, "/mfa/remove", hank.access_token, { password: "not-hank's-password" });
      expect(res.status).toBe(400);
      expect((await res.json()).error).toBe("invalid_grant");
    }
    // hank has spent his own allowance...
    expect((await fromApp(routes.mfaRemove, "/mfa/remove", hank.access_token, { password: hank.password })).status).toBe(429);
    // ...and nobody else's.
    const res = await fromApp(routes.mfaRecoveryCodes, "/mfa/recovery-codes", iris.access_token, { password: iris.password });
    expect(res.status).toBe(200);
    expect((await res.json()).recovery_codes).toHaveLength(10);
  });
});
