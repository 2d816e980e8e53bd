import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from "jose";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { settings } from "@/lib/platform/env.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { addClient, basic, BACKEND_BASIC, expectNoStore, getJwks, ISSUER, postToken, SPA } from "@/lib/testing/oauth.ts";
import { codeAt, DAVE, DAVE_RECOVERY_CODES, DAVE_SECRET, MFA_OTP, MFA_RECOVERY_CODE, mfaTokenFor } from "@/lib/testing/mfa.ts";

let jwks: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  jwks = createLocalJWKSet((await (await getJwks()).json()) as JSONWebKeySet);
});

// Each test starts with dave's factor taking codes: the wrong codes of the tests before would
// lock it after ten in a row (wrong-codes.test.ts tests that).
beforeEach(async () => {
  await db().mfaFactor.updateMany({ data: { wrongCodes: 0 } });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** Freezes the clock (Date only: the database drivers' timers keep running) at a given instant. */
function freeze(at: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

// Mid-step, so that ±1 step of drift is well defined: 2030-01-01T00:00:15Z.
const T0 = Date.UTC(2030, 0, 1, 0, 0, 15);

describe("password grant for a user with a second factor", () => {
  it("answers a correct password with 403 mfa_required, an mfa_token and no-store", async () => {
    const res = await postToken({ grant_type: "password", ...SPA, ...DAVE });
    expect(res.status).toBe(403);
    expectNoStore(res);
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(["error", "error_description", "mfa_token"]);
    expect(body.error).toBe("mfa_required");
    expect(body.mfa_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only its hash is stored.
    const rows = await db().mfaChallenge.findMany();
    expect(JSON.stringify(rows)).not.toContain(body.mfa_token);
  });

  it.each([
    ["wrong password", { ...DAVE, password: "nope-nope-nope" }],
    ["unknown user", { username: "nobody-here", password: "nope-nope-nope" }],
  ])("answers a %s exactly as for a user without MFA", async (_name, credentials) => {
    const res = await postToken({ grant_type: "password", ...SPA, ...credentials });
    const alice = await postToken({ grant_type: "password", ...SPA, username: "alice", password: "nope-nope-nope" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(await alice.json());
  });

  it("answers a disabled MFA user exactly as a wrong password", async () => {
    await db().user.update({
      where: { workspaceId_username: { workspaceId: (await db().workspace.findFirstOrThrow()).id, username: "dave" } },
      data: { disabled: true },
    });
    try {
      const res = await postToken({ grant_type: "password", ...SPA, ...DAVE });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "invalid username or password" });
    } finally {
      await db().user.updateMany({ where: { username: "dave" }, data: { disabled: false } });
    }
  });
});

describe("mfa-otp grant", () => {
  it("completes the sign-in with the password grant's full answer and amr pwd otp mfa", async () => {
    freeze(T0);
    const mfaToken = await mfaTokenFor({ ...SPA, ...DAVE, scope: "openid profile offline_access" });
    const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) });
    expect(res.status).toBe(200);
    expectNoStore(res);
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"]);
    expect(body.scope).toBe("offline_access openid profile");
    const access = await jwtVerify(body.access_token, jwks, { issuer: ISSUER, currentDate: new Date(T0) });
    const id = await jwtVerify(body.id_token, jwks, { issuer: ISSUER, currentDate: new Date(T0) });
    expect(access.payload.amr).toEqual(["pwd", "otp", "mfa"]);
    expect(id.payload.amr).toEqual(["pwd", "otp", "mfa"]);
    expect(id.payload.auth_time).toBe(Math.floor(T0 / 1000));
  });

  it("accepts the previous and next step's code (±1 of drift), not two steps away", async () => {
    const now = T0 + 5 * 60_000;
    freeze(now);
    const statuses = [];
    // In order of time steps: a step is good once, and only after the last one used.
    for (const offset of [-60_000, -30_000, 30_000, 60_000]) {
      const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: codeAt(DAVE_SECRET, now + offset) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 200, 200, 400]);
  });

  it("refuses a replayed code within its window: invalid_grant", async () => {
    freeze(T0 + 10 * 60_000);
    const code = codeAt(DAVE_SECRET);
    const first = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: code });
    expect(first.status).toBe(200);
    vi.setSystemTime(Date.now() + 5_000);
    const again = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: code });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: "invalid_grant", error_description: "the code is invalid" });
  });

  it("refuses a wrong code with invalid_grant, and the mfa_token still works after it", async () => {
    freeze(T0 + 20 * 60_000);
    const mfaToken = await mfaTokenFor();
    const wrong = String((Number(codeAt(DAVE_SECRET)) + 1) % 1_000_000).padStart(6, "0");
    for (const otp of [wrong, "12345", "abcdef"]) {
      const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp });
      expect(res.status).toBe(400);
      expectNoStore(res);
      expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the code is invalid" });
    }
    const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) });
    expect(res.status).toBe(200);
  });

  it("refuses an mfa_token once used", async () => {
    freeze(T0 + 30 * 60_000);
    const mfaToken = await mfaTokenFor();
    expect((await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) })).status).toBe(200);
    vi.setSystemTime(Date.now() + 30_000);
    const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
  });

  it("refuses an expired mfa_token (MFA_TOKEN_TTL_SECONDS, 5 minutes)", async () => {
    freeze(T0 + 40 * 60_000);
    const mfaToken = await mfaTokenFor();
    vi.setSystemTime(Date.now() + 299_000);
    // Still alive a second before its end: a wrong code is a wrong code.
    const before = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: "000000" });
    expect((await before.json()).error_description).toBe("the code is invalid");
    vi.setSystemTime(Date.now() + 2_000);
    const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
  });

  it("kills the mfa_token after 5 wrong codes: even the right one is refused then", async () => {
    freeze(T0 + 50 * 60_000);
    const mfaToken = await mfaTokenFor();
    for (let i = 0; i < 5; i += 1) {
      const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: "000000" });
      expect((await res.json()).error_description).toBe("the code is invalid");
    }
    const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
  });

  it("checks at most 5 codes of one mfa_token, however many arrive at once", async () => {
    freeze(T0 + 55 * 60_000);
    const mfaToken = await mfaTokenFor();
    // From ten addresses: the per-address limits are not what stops them.
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: "000000" }, { [PEER_HEADER]: peerHeaderValue(`203.0.113.${40 + i}`) }),
      ),
    );
    const descriptions = await Promise.all(answers.map(async (res) => ((await res.json()) as { error_description: string }).error_description));
    expect(answers.map((res) => res.status)).toEqual(Array<number>(10).fill(400));
    expect(descriptions.filter((d) => d === "the code is invalid")).toHaveLength(5);
    expect(descriptions.filter((d) => d === "the mfa_token is invalid or expired")).toHaveLength(5);
    const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) });
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
  });

  it("is bound to the client that asked: another client's is invalid_grant", async () => {
    freeze(T0 + 60 * 60_000);
    const mfaToken = await mfaTokenFor();
    const res = await postToken({ grant_type: MFA_OTP, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) }, BACKEND_BASIC);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
    // And the right client can still finish.
    expect((await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) })).status).toBe(200);
  });

  it("needs the client to be allowed the grant, and its parameters", async () => {
    await addClient("pw-only", { secret: "pw-only-secret-1", grantTypes: "password" });
    const auth = { Authorization: basic("pw-only", "pw-only-secret-1") };
    const res = await postToken({ grant_type: MFA_OTP, mfa_token: "x", otp: "123456" }, auth);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toBe("unauthorized_client");
    for (const [fields, description] of [
      [{ otp: "123456" }, "the mfa_token parameter is required"],
      [{ mfa_token: "x" }, "the otp parameter is required"],
    ] as const) {
      const r = await postToken({ grant_type: MFA_OTP, ...SPA, ...fields });
      expect(await r.json()).toEqual({ error: "invalid_request", error_description: description });
    }
  });

  it("keeps amr and auth_time across refreshes", async () => {
    freeze(T0 + 70 * 60_000);
    const signedInAt = Math.floor(Date.now() / 1000);
    const tokens = await (await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: codeAt(DAVE_SECRET) })).json();
    vi.setSystemTime(Date.now() + 600_000);
    const res = await postToken({ grant_type: "refresh_token", ...SPA, refresh_token: tokens.refresh_token });
    expect(res.status).toBe(200);
    const refreshed = await res.json();
    expect(decodeJwt(refreshed.access_token).amr).toEqual(["pwd", "otp", "mfa"]);
    expect(decodeJwt(refreshed.id_token)).toMatchObject({ amr: ["pwd", "otp", "mfa"], auth_time: signedInAt });
    expect(decodeJwt(refreshed.id_token).iat).toBe(signedInAt + 600);
  });
});

describe("mfa-recovery-code grant", () => {
  it("accepts each code once, with amr pwd mfa and the count of codes left", async () => {
    const [code] = DAVE_RECOVERY_CODES;
    const res = await postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: await mfaTokenFor(), recovery_code: code.toLowerCase() });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.recovery_codes_remaining).toBe(9);
    expect(decodeJwt(body.access_token).amr).toEqual(["pwd", "mfa"]);
    expect(decodeJwt(body.id_token).amr).toEqual(["pwd", "mfa"]);
    const again = await postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: await mfaTokenFor(), recovery_code: code });
    expect(again.status).toBe(400);
    expect(await again.json()).toEqual({ error: "invalid_grant", error_description: "the code is invalid" });
    // The codes are stored hashed only.
    expect(JSON.stringify(await db().mfaRecoveryCode.findMany())).not.toContain(DAVE_RECOVERY_CODES[1]);
  });

  it("spends a code only with its sign-in: of two racing on one mfa_token, the loser keeps its code", async () => {
    const [a, b] = [DAVE_RECOVERY_CODES[3], DAVE_RECOVERY_CODES[4]];
    const left = () => db().mfaRecoveryCode.count({ where: { factor: { user: { username: "dave" } } } });
    const before = await left();
    const mfaToken = await mfaTokenFor();
    const answers = await Promise.all([a, b].map((code) => postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: mfaToken, recovery_code: code })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 400]);
    const lost = answers.findIndex((r) => r.status === 400);
    expect(await answers[lost]!.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
    expect(await left()).toBe(before - 1);
    // The loser's code still passes a sign-in of its own.
    const again = await postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: await mfaTokenFor(), recovery_code: [a, b][lost]! });
    expect(again.status).toBe(200);
    expect((await again.json()).recovery_codes_remaining).toBe(before - 2);
  });

  it("spends a TOTP code only with its sign-in: racing a recovery code on one mfa_token, the loser keeps its code", async () => {
    // Between the refresh test's T0 + 80 min and the audit test's T0 + 85 min: later than any step used before.
    freeze(T0 + 82 * 60_000);
    const [recovery, otp] = [DAVE_RECOVERY_CODES[5], codeAt(DAVE_SECRET)];
    const mfaToken = await mfaTokenFor();
    const answers = await Promise.all([
      postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: mfaToken, recovery_code: recovery }),
      postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp }),
    ]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 400]);
    const lost = answers.findIndex((r) => r.status === 400);
    expect(await answers[lost]!.json()).toEqual({ error: "invalid_grant", error_description: "the mfa_token is invalid or expired" });
    // Whichever lost, its code passes a sign-in of its own, in the same 30-s step.
    vi.setSystemTime(Date.now() + 1_000);
    const again = await postToken(
      lost === 0
        ? { grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: await mfaTokenFor(), recovery_code: recovery }
        : { grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp },
    );
    expect(again.status).toBe(200);
  });

  it("refuses a TOTP code as a recovery code, and the other way round", async () => {
    const mfaToken = await mfaTokenFor();
    expect((await postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: mfaToken, recovery_code: codeAt(DAVE_SECRET) })).status).toBe(400);
    expect((await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: DAVE_RECOVERY_CODES[2] })).status).toBe(400);
  });
});

describe("audit of the second step", () => {
  it("records the challenge, the refusals and the success, never a code, token or secret", async () => {
    const start = T0 + 85 * 60_000; // clear of the refresh above (T0 + 80 min)
    freeze(start);
    const mfaToken = await mfaTokenFor();
    const good = codeAt(DAVE_SECRET);
    vi.setSystemTime(Date.now() + 1_000);
    await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: "999999" });
    vi.setSystemTime(Date.now() + 1_000);
    await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: good });
    vi.useRealTimers();
    await flushAudit();
    const rows = await db().auditEvent.findMany({ where: { username: "dave" }, orderBy: { createdAt: "asc" } });
    // This test's rows: those of its own (frozen) two seconds; other tests froze other times.
    const mine = rows.filter((r) => r.createdAt.getTime() >= start && r.createdAt.getTime() <= start + 2_000);
    expect(mine.map((r) => [r.event, r.outcome, r.reason])).toEqual([
      ["token.password", "failure", "mfa challenge issued"],
      ["token.mfa_otp", "failure", "wrong otp"],
      ["token.mfa_otp", "success", null],
    ]);
    const text = JSON.stringify(rows);
    for (const secret of [mfaToken, good, DAVE_SECRET, "999999", ...DAVE_RECOVERY_CODES]) expect(text).not.toContain(secret);
  });
});

describe("brute force through codes", () => {
  const from = (ip: string) => ({ [PEER_HEADER]: peerHeaderValue(ip) });

  it("counts wrong codes like wrong passwords per user and address: 429 with Retry-After, the right code refused too", async () => {
    vi.spyOn(settings(), "LOCKOUT_USER_IP_LIMIT", "get").mockReturnValue(5);
    freeze(T0 + 90 * 60_000);
    const ip = "198.51.100.77";
    // Four wrong codes on one mfa_token, one wrong password: five failures of dave from this address.
    const mfaToken = await mfaTokenFor({ ...SPA, ...DAVE }, from(ip));
    for (let i = 0; i < 4; i += 1) expect((await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: "000000" }, from(ip))).status).toBe(400);
    expect((await postToken({ grant_type: "password", ...SPA, ...DAVE, password: "wrong-wrong-1" }, from(ip))).status).toBe(400);
    const locked = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) }, from(ip));
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await locked.json()).toEqual({ error: "too_many_attempts", error_description: "too many failed sign-in attempts; try again later" });
    expect((await postToken({ grant_type: "password", ...SPA, ...DAVE }, from(ip))).status).toBe(429);
    // Another address is not locked.
    expect((await postToken({ grant_type: "password", ...SPA, ...DAVE }, from("198.51.100.78"))).status).toBe(403);
  });

  it("does not let a correct password clear the count of wrong codes", async () => {
    vi.spyOn(settings(), "LOCKOUT_USER_IP_LIMIT", "get").mockReturnValue(5);
    freeze(T0 + 100 * 60_000);
    const ip = "198.51.100.79";
    const statuses = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await postToken({ grant_type: "password", ...SPA, ...DAVE }, from(ip));
      statuses.push(res.status);
      if (res.status !== 403) break;
      const { mfa_token } = await res.json();
      await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token, otp: "000000" }, from(ip));
    }
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429]);
  });

  it("counts wrong codes per account across addresses", async () => {
    vi.spyOn(settings(), "LOCKOUT_ACCOUNT_LIMIT", "get").mockReturnValue(6);
    vi.spyOn(settings(), "LOCKOUT_KNOWN_ADDRESS_DAYS", "get").mockReturnValue(0);
    freeze(T0 + 200 * 60_000);
    for (let i = 0; i < 6; i += 1) {
      const ip = `203.0.113.${i + 1}`;
      const mfaToken = await mfaTokenFor({ ...SPA, ...DAVE }, from(ip));
      expect((await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: "000000" }, from(ip))).status).toBe(400);
    }
    const res = await postToken({ grant_type: "password", ...SPA, ...DAVE }, from("203.0.113.50"));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).not.toBeNull();
  });
});
