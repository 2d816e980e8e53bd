import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { flushAudit } from "@/lib/platform/audit.ts";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { db } from "@/lib/platform/db.ts";
import { MFA_FACTOR_MAX_WRONG_CODES } from "@/lib/oauth/model/mfa.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { call, expectNoStore, ISSUER, postToken, SPA } from "@/lib/testing/oauth.ts";
import { codeAt, DAVE, DAVE_RECOVERY_CODES, DAVE_SECRET, MFA_OTP, MFA_RECOVERY_CODE, mfaTokenFor } from "@/lib/testing/mfa.ts";
import { smtpServerForTheseTests } from "@/lib/testing/smtp.ts";

// NIST SP 800-63B §5.2.2: a bound on wrong codes in a row, whatever the challenge, address or
// proof they come through; past it the factor's codes are refused until a recovery code passes.

const T0 = Date.UTC(2030, 0, 1, 0, 0, 15);
const LOCKED = {
  error: "otp_locked",
  error_description: "too many wrong codes in a row: codes from the authenticator app are refused until a recovery code is used",
};
const WRONG = { error: "invalid_grant", error_description: "the code is invalid" };

const smtp = smtpServerForTheseTests("Demo Login <no-reply@example.com>");

beforeEach(async () => {
  await db().mfaFactor.updateMany({ data: { wrongCodes: 0 } });
  await smtp.drain();
});
afterEach(async () => {
  await backgroundSettled();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

function freeze(at: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(at);
}

const from = (i: number) => ({ [PEER_HEADER]: peerHeaderValue(`198.51.100.${10 + i}`) });
const wrongCode = () => String((Number(codeAt(DAVE_SECRET)) + 500_000) % 1_000_000).padStart(6, "0");
const daveWrongCodes = async () => (await db().mfaFactor.findFirstOrThrow({ where: { user: { username: "dave" } } })).wrongCodes;

/** `count` wrong codes of dave's, each from an address of its own and through an mfa_token of its own. */
async function wrongCodes(count: number, first = 0): Promise<Response[]> {
  const answers = [];
  for (let i = first; i < first + count; i++) {
    const mfaToken = await mfaTokenFor({ ...SPA, ...DAVE }, from(i));
    answers.push(await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: wrongCode() }, from(i)));
  }
  return answers;
}

describe("wrong codes in a row against a factor", () => {
  it(`refuses every code after ${MFA_FACTOR_MAX_WRONG_CODES} wrong ones, the right one too, with 403 otp_locked; a recovery code passes and turns them back on`, async () => {
    freeze(T0);
    const answers = await wrongCodes(MFA_FACTOR_MAX_WRONG_CODES);
    expect(answers.map((r) => r.status)).toEqual(Array<number>(MFA_FACTOR_MAX_WRONG_CODES).fill(400));
    for (const res of answers) expect(await res.json()).toEqual(WRONG);
    expect(await daveWrongCodes()).toBe(MFA_FACTOR_MAX_WRONG_CODES);

    const mfaToken = await mfaTokenFor({ ...SPA, ...DAVE }, from(50));
    const locked = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(DAVE_SECRET) }, from(50));
    expect(locked.status).toBe(403);
    expectNoStore(locked);
    expect(locked.headers.get("retry-after")).toBeNull();
    expect(await locked.json()).toEqual(LOCKED);
    // Refused unchecked: not counted against the mfa_token (which dies after 5 wrong codes), which still takes a recovery code.
    for (let i = 0; i < 5; i++) {
      const res = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: wrongCode() }, from(50));
      expect(await res.json()).toEqual(LOCKED);
    }
    const recovered = await postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token: mfaToken, recovery_code: DAVE_RECOVERY_CODES[0] }, from(50));
    expect(recovered.status).toBe(200);
    expect(await daveWrongCodes()).toBe(0);

    vi.setSystemTime(T0 + 30_000);
    const again = await postToken(
      { grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor({ ...SPA, ...DAVE }, from(51)), otp: codeAt(DAVE_SECRET) },
      from(51),
    );
    expect(again.status).toBe(200);
  });

  it("counts them in a row: a right code before the last one sets the count back", async () => {
    freeze(T0 + 10 * 60_000);
    await wrongCodes(MFA_FACTOR_MAX_WRONG_CODES - 1);
    expect(await daveWrongCodes()).toBe(MFA_FACTOR_MAX_WRONG_CODES - 1);
    const passed = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: codeAt(DAVE_SECRET) });
    expect(passed.status).toBe(200);
    expect(await daveWrongCodes()).toBe(0);
    await wrongCodes(MFA_FACTOR_MAX_WRONG_CODES - 1);
    vi.setSystemTime(T0 + 10 * 60_000 + 30_000);
    expect((await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: codeAt(DAVE_SECRET) })).status).toBe(200);
  });

  it("counts a replayed code as a wrong one", async () => {
    freeze(T0 + 20 * 60_000);
    const code = codeAt(DAVE_SECRET);
    expect((await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: code })).status).toBe(200);
    const replayed = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: code });
    expect(await replayed.json()).toEqual(WRONG);
    expect(await daveWrongCodes()).toBe(1);
  });

  it(`checks no more than ${MFA_FACTOR_MAX_WRONG_CODES} in a row however many arrive at once, through different mfa_tokens and addresses`, async () => {
    freeze(T0 + 30 * 60_000);
    await db().mfaFactor.updateMany({ where: { user: { username: "dave" } }, data: { wrongCodes: MFA_FACTOR_MAX_WRONG_CODES - 2 } });
    const tokens = [];
    for (let i = 0; i < 6; i++) tokens.push(await mfaTokenFor({ ...SPA, ...DAVE }, from(i)));
    const answers = await Promise.all(tokens.map((mfaToken, i) => postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: wrongCode() }, from(i))));
    const bodies = await Promise.all(answers.map((res) => res.json()));
    expect(bodies.filter((b) => b.error === "invalid_grant")).toEqual([WRONG, WRONG]);
    expect(bodies.filter((b) => b.error === "otp_locked")).toEqual(Array(4).fill(LOCKED));
    expect(answers.filter((r) => r.status === 403)).toHaveLength(4);
    expect(await daveWrongCodes()).toBe(MFA_FACTOR_MAX_WRONG_CODES);
  });

  it("mails the user once, when the last wrong code locks the factor, and records mfa.lock; never the code", async () => {
    const start = T0 + 40 * 60_000;
    freeze(start);
    const before = smtp.received.length;
    await wrongCodes(MFA_FACTOR_MAX_WRONG_CODES - 1);
    await backgroundSettled();
    expect(smtp.received.length).toBe(before);
    const [last] = await wrongCodes(1, 20);
    expect(await last!.json()).toEqual(WRONG);
    await backgroundSettled();
    const mail = await smtp.nextMail();
    expect(mail.rcptTo).toEqual(["dave@example.com"]);
    expect(mail.subject).toBe("Two-step verification codes locked for Default workspace");
    expect(mail.text).toContain(`entered the right password, then ${MFA_FACTOR_MAX_WRONG_CODES} wrong codes in a row`);
    expect(mail.text).toContain("use one of your recovery codes instead");
    // Locked codes after it send no more mail.
    const locked = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: wrongCode() });
    expect(locked.status).toBe(403);
    await backgroundSettled();
    expect(smtp.received.length).toBe(before + 1);
    vi.useRealTimers();
    await flushAudit();
    // This test's: other tests locked the factor at other (frozen) times.
    const rows = await db().auditEvent.findMany({
      where: { username: "dave", event: "mfa.lock", createdAt: { gte: new Date(start), lt: new Date(start + 60_000) } },
    });
    expect(rows.map((r) => [r.event, r.outcome, r.reason, r.clientId])).toEqual([
      ["mfa.lock", "locked", `${MFA_FACTOR_MAX_WRONG_CODES} wrong codes in a row`, SPA.client_id],
    ]);
    expect(JSON.stringify(rows)).not.toContain(wrongCode());
  });
});

describe("a code as proof at the MFA API", () => {
  it("counts against the same factor, and is refused with 403 otp_locked once it is locked", async () => {
    freeze(T0 + 50 * 60_000);
    const tokens = await (await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: await mfaTokenFor(), otp: codeAt(DAVE_SECRET) })).json();
    await db().mfaFactor.updateMany({ where: { user: { username: "dave" } }, data: { wrongCodes: MFA_FACTOR_MAX_WRONG_CODES - 1 } });
    const prove = (otp: string) =>
      call(routes.mfaRecoveryCodes, `${ISSUER}/mfa/recovery-codes`, { body: { otp }, headers: { Authorization: `Bearer ${tokens.access_token}` } });
    const wrong = await prove(wrongCode());
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual(WRONG);
    const locked = await prove(codeAt(DAVE_SECRET, Date.now() + 30_000));
    expect(locked.status).toBe(403);
    expect(await locked.json()).toEqual(LOCKED);
    await backgroundSettled();
    expect((await smtp.nextMail()).rcptTo).toEqual(["dave@example.com"]);
  });
});
