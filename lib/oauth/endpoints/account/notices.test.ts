import { createServer, type AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { captureRequestLogs } from "@/lib/testing/logs.ts";
import { backgroundSettled, inBackground, MAX_BACKGROUND_JOBS } from "@/lib/platform/background.ts";
import { clearCaches } from "@/lib/platform/caches.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { routes } from "@/lib/oauth/routes.ts";
import { asNamed, maskedEmail, noticeMail } from "@/lib/oauth/endpoints/account/mails.ts";
import { basic, call, ISSUER, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";
import { codeAt, DAVE_RECOVERY_CODES, DAVE_SECRET, MFA_OTP, MFA_RECOVERY_CODE, mfaTokenFor } from "@/lib/testing/mfa.ts";
import { PEER_HEADER, peerHeaderValue } from "@/lib/platform/client-address.ts";
import { smtpServerForTheseTests, type ReceivedMail } from "@/lib/testing/smtp.ts";
import { logger } from "@/lib/platform/logger.ts";
import { closeMailTransport } from "@/lib/platform/mail.ts";
import { claimMail, MAIL_GIVE_UP_MS } from "@/lib/oauth/store/pending-mails.ts";
import { deliverDueMails, MAIL_CLAIM_MS, MAIL_RETRY_MS, nextTry } from "@/lib/oauth/endpoints/account/notices.ts";
import { noticeUser } from "@/lib/testing/notices.ts";
import type * as UsersStore from "@/lib/oauth/store/users.ts";

// Security notices: a change to how an account is signed in to is mailed to its owner.

// A new sign-in notice's read of the user's other addresses, made to fail when a test says so.
const knownAddress = vi.hoisted(() => ({ fails: false }));
vi.mock("@/lib/oauth/store/users.ts", async (original) => {
  const actual = await original<typeof UsersStore>();
  return {
    ...actual,
    hasKnownAddress: (...args: Parameters<typeof actual.hasKnownAddress>) =>
      knownAddress.fails ? Promise.reject(new Error("the database went away")) : actual.hasKnownAddress(...args),
  };
});

const original = { isProduction: settings().isProduction };
const smtp = smtpServerForTheseTests("Demo Login <no-reply@example.com>");
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  await backgroundSettled();
});

const WEB = { Authorization: basic("demo-web", "demo-web-secret") };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const PASSWORD = "alice-password-1";
const NEW_PASSWORD = "a notice-worthy passphrase 7";

/** A user of the demo workspace for one test, with alice's password. */
async function newUser(username: string, email: string | null = `${username}@example.com`) {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  await db().user.create({ data: { workspaceId, username, passwordHash, name: username, email, emailVerified: email !== null } });
  return { username, password: PASSWORD };
}

/** An access token for the user's account page (demo-web, the account scope). */
async function accountToken(user: { username: string; password: string }): Promise<string> {
  return (await signIn({ ...user, scope: "openid account" }, WEB)).access_token;
}

/** What a step mailed, once the work it left for after its answers is done. */
async function mailedBy(step: () => Promise<unknown>): Promise<ReceivedMail[]> {
  await backgroundSettled();
  const before = smtp.received.length;
  await step();
  await backgroundSettled();
  return smtp.received.slice(before);
}

/** The user's kept mails (not sent yet). */
const pendingOf = (userId: string) => db().pendingMail.findMany({ where: { userId }, orderBy: { createdAt: "asc" } });

/** Keeps a mail without sending it: its send after the answer finds the background jobs full (the next sweep's work). */
async function kept(keep: () => Promise<void>): Promise<void> {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  for (let i = 0; i < MAX_BACKGROUND_JOBS; i++) inBackground("held", () => held);
  try {
    await keep();
  } finally {
    release();
  }
  await backgroundSettled();
}

function expectNotice(mails: ReceivedMail[], to: string, subject: string, says: string): ReceivedMail {
  expect(mails.map((m) => [m.rcptTo, m.subject])).toEqual([[[to], subject]]);
  const [mail] = mails as [ReceivedMail];
  expect(mail.text).toContain(says);
  expect(mail.html).toContain("<p>");
  return mail;
}

/** A new address asked for on the account page: the token of the link mailed to it. */
async function askForAddress(username: string, email: string): Promise<string> {
  const token = await accountToken({ username, password: PASSWORD });
  const patch = await call(routes.accountProfile, `${ISSUER}/account/profile`, {
    method: "PATCH",
    body: JSON.stringify({ email, current_password: PASSWORD }),
    headers: { ...bearer(token), "Content-Type": "application/json" },
  });
  expect(patch.status).toBe(200);
  const link = /token=([A-Za-z0-9_-]{43})/.exec((await smtp.nextMailAbout("Confirm your email address")).text)?.[1] ?? "";
  expect(link).not.toBe("");
  return link;
}

/** The link followed: 204, and what that mailed. */
const confirmAddress = (link: string) =>
  mailedBy(async () => expect((await call(routes.accountEmailVerify, `${ISSUER}/account/email/verify`, { body: { token: link } })).status).toBe(204));

const changePassword = (token: string, current: string, next: string) =>
  call(routes.accountPassword, `${ISSUER}/account/password`, { body: { current_password: current, new_password: next }, headers: bearer(token) });

describe("security notices", () => {
  it("mails the owner when the password is changed on the account page, never the password", async () => {
    const nora = await newUser("nora");
    const token = await accountToken(nora);
    // A change refused mails nothing.
    expect(await mailedBy(async () => expect((await changePassword(token, "not-her-password", NEW_PASSWORD)).status).toBe(403))).toEqual([]);
    const mails = await mailedBy(async () => expect((await changePassword(token, PASSWORD, NEW_PASSWORD)).status).toBe(204));
    const mail = expectNotice(
      mails,
      "nora@example.com",
      "Your password for Default workspace was changed",
      "The password of the account nora at Default workspace was changed on its account page. Every other session of the account was signed out.",
    );
    expect(mail.text).toContain('choose a new password with "Forgot password?" on the sign-in page');
    expect(mail.raw).not.toContain(NEW_PASSWORD);
    expect(mail.raw).not.toContain(PASSWORD);
  });

  it("mails the owner when the password is reset through a mailed link, without the link", async () => {
    const olga = await newUser("olga");
    const reset = (body: Record<string, string>) =>
      call(
        body.token === undefined ? routes.passwordReset : routes.passwordResetComplete,
        `${ISSUER}/account/password-reset${body.token === undefined ? "" : "/complete"}`,
        {
          body,
          headers: WEB,
        },
      );
    expect((await reset({ username: "olga" })).status).toBe(202);
    const token = /token=([A-Za-z0-9_-]{43})/.exec((await smtp.nextMailAbout("Reset your password")).text)?.[1] ?? "";
    expect(token).not.toBe("");
    const mails = await mailedBy(async () => expect((await reset({ token, new_password: NEW_PASSWORD })).status).toBe(204));
    const mail = expectNotice(
      mails,
      "olga@example.com",
      "Your password for Default workspace was changed",
      `The password of the account ${olga.username} at Default workspace was reset, with a link mailed to this address. Every session of the account was signed out.`,
    );
    expect(mail.raw).not.toContain(token);
    expect(mail.raw).not.toContain(NEW_PASSWORD);
  });

  it("mails the old address, not the new one, once a new address is confirmed, and names the new one only masked", async () => {
    await newUser("pia", "pia@old.example");
    const mails = await confirmAddress(await askForAddress("pia", "pia.moved@new.example"));
    const mail = expectNotice(
      mails,
      "pia@old.example",
      "Your email address for Default workspace was changed",
      "The email address of the account pia at Default workspace is now p***@new.example. Mails about the account, password reset links among them, go there from now on",
    );
    expect(mail.raw).not.toContain("pia.moved");
    expect(mail.text).toContain("someone else has signed in as you");
  });

  it("mails nobody when only the case of the address's letters changes: the same mailbox", async () => {
    await newUser("rita", "rita@example.com");
    expect(await confirmAddress(await askForAddress("rita", "Rita@Example.com"))).toEqual([]);
    expect((await db().user.findFirstOrThrow({ where: { username: "rita" } })).email).toBe("Rita@Example.com");
  });

  it("mails nobody when an account without an address gets its first", async () => {
    await newUser("quinn", null);
    expect(await confirmAddress(await askForAddress("quinn", "quinn@example.com"))).toEqual([]);
    expect((await db().user.findFirstOrThrow({ where: { username: "quinn" } })).email).toBe("quinn@example.com");
  });

  it("mails the owner when two-step verification is turned on, given new recovery codes and turned off; never a code", async () => {
    const rosa = await newUser("rosa");
    const { access_token } = await signIn({ ...SPA, ...rosa });
    const mfa = (route: keyof typeof routes, path: string, body: Record<string, string>) =>
      call(routes[route], `${ISSUER}/mfa/${path}`, { body, headers: bearer(access_token) });
    // A pending enrolment turns nothing on, and removing it turns nothing off.
    const pending = await mailedBy(async () => {
      expect((await mfa("mfaAssociate", "associate", { authenticator_types: "otp", password: PASSWORD })).status).toBe(200);
      expect((await mfa("mfaRemove", "remove", { password: PASSWORD })).status).toBe(204);
    });
    expect(pending).toEqual([]);

    const enrolment = (await (await mfa("mfaAssociate", "associate", { authenticator_types: "otp", password: PASSWORD })).json()) as {
      secret: string;
      recovery_codes: string[];
    };
    const on = await mailedBy(async () => expect((await mfa("mfaConfirm", "confirm", { otp: codeAt(enrolment.secret) })).status).toBe(200));
    const onMail = expectNotice(
      on,
      "rosa@example.com",
      "Two-step verification turned on for Default workspace",
      "Two-step verification was turned on for the account rosa at Default workspace: signing in now takes a code from an authenticator app after the password.",
    );
    expect(onMail.raw).not.toContain(enrolment.secret);

    // A session that signed in with both steps proves changes with a code: each in a time step of its own.
    const mfaToken = await mfaTokenFor({ ...SPA, ...rosa });
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 30_000);
    const signedIn = await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(enrolment.secret) });
    expect(signedIn.status).toBe(200);
    const session = ((await signedIn.json()) as { access_token: string }).access_token;
    const withSession = (route: keyof typeof routes, path: string, body: Record<string, string>) =>
      call(routes[route], `${ISSUER}/mfa/${path}`, { body, headers: bearer(session) });

    let fresh: string[] = [];
    vi.setSystemTime(Date.now() + 30_000);
    const codes = await mailedBy(async () => {
      const res = await withSession("mfaRecoveryCodes", "recovery-codes", { password: PASSWORD });
      expect(res.status).toBe(200);
      fresh = ((await res.json()) as { recovery_codes: string[] }).recovery_codes;
    });
    const codesMail = expectNotice(
      codes,
      "rosa@example.com",
      "New recovery codes for Default workspace",
      "New recovery codes were made for the account rosa at Default workspace. The old ones no longer work.",
    );
    for (const code of [...fresh, ...enrolment.recovery_codes]) expect(codesMail.raw).not.toContain(code);

    vi.setSystemTime(Date.now() + 30_000);
    const off = await mailedBy(async () => expect((await withSession("mfaRemove", "remove", { otp: codeAt(enrolment.secret) })).status).toBe(204));
    expectNotice(
      off,
      "rosa@example.com",
      "Two-step verification turned off for Default workspace",
      "Two-step verification was turned off for the account rosa at Default workspace: codes from its authenticator app and its recovery codes no longer work.",
    );
  });

  it("mails the owner when the first sign-in under a required policy enrols the factor", async () => {
    const sara = await newUser("sara");
    await db().client.updateMany({ where: { clientId: "demo-spa" }, data: { mfaPolicy: "required" } });
    clearCaches("settings");
    try {
      const mfaToken = await mfaTokenFor({ ...SPA, ...sara });
      const associated = await call(routes.mfaAssociate, `${ISSUER}/mfa/associate`, { body: { authenticator_types: "otp" }, headers: bearer(mfaToken) });
      const { secret } = (await associated.json()) as { secret: string };
      const mails = await mailedBy(async () =>
        expect((await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token: mfaToken, otp: codeAt(secret) })).status).toBe(200),
      );
      expectNotice(
        mails,
        "sara@example.com",
        "Two-step verification turned on for Default workspace",
        "Two-step verification was turned on for the account sara at Default workspace",
      );
    } finally {
      await db().client.updateMany({ where: { clientId: "demo-spa" }, data: { mfaPolicy: null } });
      clearCaches("settings");
    }
  });

  it("keeps the change and the notice when the mail server refuses it, and mails it at the next try", async () => {
    const tess = await newUser("tess");
    const token = await accountToken(tess);
    const lines = captureRequestLogs();
    smtp.refuseNext(1);
    const changedAt = Date.now();
    expect(await mailedBy(async () => expect((await changePassword(token, PASSWORD, NEW_PASSWORD)).status).toBe(204))).toEqual([]);
    expect((await postToken({ grant_type: "password", ...SPA, username: "tess", password: NEW_PASSWORD })).status).toBe(200);
    const user = await db().user.findFirstOrThrow({ where: { username: "tess" } });
    const deferred = lines().filter((line) => line.event === "mail.deferred");
    expect(deferred).toEqual([
      expect.objectContaining({ level: 40, job: "account.notice.password_changed", userId: user.id, attempts: 1, err: expect.stringContaining("451") }),
    ]);
    const [kept] = await pendingOf(user.id);
    expect(kept).toMatchObject({ job: "account.notice.password_changed", attempts: 1, claim: null, toAddress: null });
    // A minute after the try (the first of MAIL_RETRY_MS), not before.
    const retryAt = kept!.dueAt.getTime();
    expect(retryAt).toBeGreaterThanOrEqual(changedAt + MAIL_RETRY_MS[0]);
    expect(retryAt).toBeLessThan(Date.now() + MAIL_RETRY_MS[0] + 1);
    expect(new Date((deferred[0] as { retryAt: string }).retryAt).getTime()).toBe(retryAt);
    expect(await mailedBy(() => deliverDueMails(logger, new Date(retryAt - 1)))).toEqual([]);

    const mails = await mailedBy(() => deliverDueMails(logger, new Date(retryAt)));
    expectNotice(mails, "tess@example.com", "Your password for Default workspace was changed", "was changed on its account page");
    expect(await pendingOf(user.id)).toEqual([]);
  });

  it("keeps a notice past the bound of background jobs, and the next sweep mails it", async () => {
    const vera = await newUser("vera");
    const token = await accountToken(vera);
    const lines = captureRequestLogs();
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    for (let i = 0; i < MAX_BACKGROUND_JOBS; i++) inBackground("held", () => held);
    try {
      expect((await changePassword(token, PASSWORD, NEW_PASSWORD)).status).toBe(204);
    } finally {
      release();
    }
    await backgroundSettled();
    const user = await db().user.findFirstOrThrow({ where: { username: "vera" } });
    expect(lines().filter((line) => line.event === "background.dropped")).toEqual([expect.objectContaining({ job: "account.notice.password_changed" })]);
    expect(await pendingOf(user.id)).toEqual([expect.objectContaining({ job: "account.notice.password_changed", attempts: 0 })]);
    expect((await postToken({ grant_type: "password", ...SPA, username: "vera", password: NEW_PASSWORD })).status).toBe(200);

    expectNotice(
      await mailedBy(() => deliverDueMails()),
      "vera@example.com",
      "Your password for Default workspace was changed",
      "was changed on its account page",
    );
    expect(await pendingOf(user.id)).toEqual([]);
  });

  it("mails a notice whose sender stopped mid-send once its claim has run out, and only once", async () => {
    const wren = await newUser("wren");
    const user = await db().user.findFirstOrThrow({ where: { username: "wren" } });
    await kept(() => noticeUser(user.id, { kind: "recovery_codes_replaced" }, logger));
    const [id] = (await pendingOf(user.id)).map((row) => row.id);
    // An instance claimed it and stopped before it settled it.
    const now = Date.now();
    expect(await claimMail(id!, new Date(now), new Date(now + MAIL_CLAIM_MS))).toMatchObject({ id, attempts: 1 });
    // Another instance that found it due a moment before does not get it.
    expect(await claimMail(id!, new Date(now), new Date(now + MAIL_CLAIM_MS))).toBeUndefined();
    expect(await mailedBy(() => deliverDueMails(logger, new Date(now + MAIL_CLAIM_MS - 1)))).toEqual([]);
    // Two sweeps at once, on two instances: one mail.
    const mails = await mailedBy(() =>
      Promise.all([deliverDueMails(logger, new Date(now + MAIL_CLAIM_MS)), deliverDueMails(logger, new Date(now + MAIL_CLAIM_MS))]),
    );
    expectNotice(mails, `${wren.username}@example.com`, "New recovery codes for Default workspace", "recovery codes");
    expect(await pendingOf(user.id)).toEqual([]);
  });

  it("gives a notice up a day after its change, with an error naming the user", async () => {
    await newUser("xena");
    const user = await db().user.findFirstOrThrow({ where: { username: "xena" } });
    await kept(() => noticeUser(user.id, { kind: "mfa_disabled" }, logger));
    const lines = captureRequestLogs();
    const dayAgo = new Date(Date.now() - MAIL_GIVE_UP_MS + 30_000);
    await db().pendingMail.updateMany({ where: { userId: user.id }, data: { createdAt: dayAgo, attempts: 7 } });
    smtp.refuseNext(1);
    const log = logger.child({});
    expect(await mailedBy(() => deliverDueMails(log))).toEqual([]);
    expect(lines().filter((line) => String(line.event).startsWith("mail."))).toEqual([
      expect.objectContaining({
        level: 50,
        event: "mail.undelivered",
        job: "account.notice.mfa_disabled",
        userId: user.id,
        attempts: 8,
        err: expect.stringContaining("451"),
      }),
    ]);
    expect(await pendingOf(user.id)).toEqual([]);
  });

  it("stops a sweep at a mail server that cannot be reached, and the sweep after it is back mails the rest", async () => {
    expect(await db().pendingMail.count()).toBe(0);
    const users = [];
    for (const name of ["abel", "bina", "cato"]) {
      await newUser(name);
      const user = await db().user.findFirstOrThrow({ where: { username: name } });
      await kept(() => noticeUser(user.id, { kind: "mfa_enabled" }, logger));
      users.push(user);
    }
    // A port nothing listens on: every connection is refused.
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const lines = captureRequestLogs();
    const log = logger.child({});
    const now = new Date();
    Object.assign(settings(), { SMTP_URL: `smtp://127.0.0.1:${closed}` });
    closeMailTransport();
    try {
      expect(await deliverDueMails(log, now)).toBe(3);
    } finally {
      Object.assign(settings(), { SMTP_URL: smtp.url });
      closeMailTransport();
    }
    // One try, then the sweep stopped: the other two were not tried (no attempt counted), and wait, due.
    const events = lines().filter((line) => String(line.event).startsWith("mail."));
    expect(events).toEqual([
      expect.objectContaining({
        level: 40,
        event: "mail.deferred",
        job: "account.notice.mfa_enabled",
        attempts: 1,
        err: expect.stringContaining("ECONNREFUSED"),
      }),
      expect.objectContaining({ level: 40, event: "mail.sweep_stopped", waiting: 2 }),
    ]);
    const rows = await db().pendingMail.findMany({ where: { userId: { in: users.map((u) => u.id) } } });
    const tried = rows.filter((row) => row.attempts === 1);
    expect(tried).toHaveLength(1);
    expect(tried[0]!.userId).toBe((events[0] as { userId: string }).userId);
    expect(tried[0]!.dueAt.getTime()).toBe(now.getTime() + MAIL_RETRY_MS[0]);
    expect(rows.filter((row) => row.attempts === 0 && row.dueAt <= now)).toHaveLength(2);

    // The server is back: the next sweep mails the two that waited, the tried one at its retry.
    const waited = await mailedBy(() => deliverDueMails(logger));
    expect(waited.map((m) => m.rcptTo[0]).sort()).toEqual(
      users
        .filter((u) => u.id !== tried[0]!.userId)
        .map((u) => u.email)
        .sort(),
    );
    const retried = await mailedBy(() => deliverDueMails(logger, tried[0]!.dueAt));
    expect(retried.map((m) => m.rcptTo[0])).toEqual([users.find((u) => u.id === tried[0]!.userId)!.email]);
    expect(await db().pendingMail.count()).toBe(0);
  });

  it("goes on with a sweep past a mail the server refuses on its own", async () => {
    expect(await db().pendingMail.count()).toBe(0);
    const users = [];
    for (const name of ["dora", "egon"]) {
      await newUser(name);
      const user = await db().user.findFirstOrThrow({ where: { username: name } });
      await kept(() => noticeUser(user.id, { kind: "mfa_disabled" }, logger));
      users.push(user);
    }
    const lines = captureRequestLogs();
    smtp.refuseNext(1);
    const mails = await mailedBy(() => deliverDueMails(logger.child({})));
    // The first refused (451, that mail's alone), the second mailed in the same sweep.
    expect(mails).toHaveLength(1);
    expect(lines().filter((line) => String(line.event).startsWith("mail."))).toEqual([
      expect.objectContaining({ event: "mail.deferred", attempts: 1, err: expect.stringContaining("451") }),
    ]);
    const [left] = await db().pendingMail.findMany({ where: { userId: { in: users.map((u) => u.id) } } });
    expect(left).toMatchObject({ attempts: 1 });
    expect(mails[0]!.rcptTo).toEqual([users.find((u) => u.id !== left!.userId)!.email]);
    await mailedBy(() => deliverDueMails(logger, left!.dueAt));
    expect(await db().pendingMail.count()).toBe(0);
  });

  it("mails nothing, and forgets the notice, when the account has no address by the time it is sent", async () => {
    await newUser("zora");
    const user = await db().user.findFirstOrThrow({ where: { username: "zora" } });
    await kept(() => noticeUser(user.id, { kind: "recovery_codes_replaced" }, logger));
    expect(await pendingOf(user.id)).toHaveLength(1);
    await db().user.update({ where: { id: user.id }, data: { email: null, emailVerified: false } });
    expect(await mailedBy(() => deliverDueMails())).toEqual([]);
    expect(await pendingOf(user.id)).toEqual([]);
  });

  it("mails nothing once the user is gone, before or after the notice was kept", async () => {
    await newUser("yuri");
    const user = await db().user.findFirstOrThrow({ where: { username: "yuri" } });
    await kept(() => noticeUser(user.id, { kind: "mfa_enabled" }, logger));
    expect(await pendingOf(user.id)).toHaveLength(1);
    await db().user.delete({ where: { id: user.id } });
    expect(await db().pendingMail.count({ where: { userId: user.id } })).toBe(0);
    expect(await mailedBy(() => deliverDueMails())).toEqual([]);
    const lines = captureRequestLogs();
    await noticeUser(user.id, { kind: "mfa_enabled" }, logger.child({}));
    expect(lines()).toEqual([]);
    expect(await db().pendingMail.count({ where: { userId: user.id } })).toBe(0);
  });

  it("mails nothing in production without SMTP_URL, and the change is made", async () => {
    const uma = await newUser("uma");
    const token = await accountToken(uma);
    Object.assign(settings(), { SMTP_URL: undefined, isProduction: true });
    try {
      expect(await mailedBy(async () => expect((await changePassword(token, PASSWORD, NEW_PASSWORD)).status).toBe(204))).toEqual([]);
    } finally {
      Object.assign(settings(), { SMTP_URL: smtp.url, isProduction: original.isProduction });
    }
    expect((await postToken({ grant_type: "password", ...SPA, username: "uma", password: NEW_PASSWORD })).status).toBe(200);
  });
});

describe("a sign-in from an address the account had not signed in from lately (ASVS 4.0.3 §2.2.3)", () => {
  const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";
  /** A password sign-in through demo-spa from `address`, with Firefox's User-Agent. */
  const from = (user: { username: string; password: string }, address: string) => () =>
    signIn({ ...SPA, ...user }, { [PEER_HEADER]: peerHeaderValue(address), "User-Agent": FIREFOX });

  it("mails the owner when and where from, on no other sign-in: the first, or one from an address it knows", async () => {
    const ines = await newUser("ines");
    expect(await mailedBy(from(ines, "198.51.100.7"))).toEqual([]);
    expect(await mailedBy(from(ines, "198.51.100.7"))).toEqual([]);
    const before = Date.now();
    const mails = await mailedBy(from(ines, "203.0.113.9"));
    const mail = expectNotice(
      mails,
      "ines@example.com",
      "New sign-in to your account at Default workspace",
      "Someone signed in to the account ines at Default workspace from an address it had not signed in from lately:",
    );
    expect(mail.text).toContain("\nAddress: 203.0.113.9\nDevice: Firefox on Linux (as the browser named itself)\nApp: Demo SPA (public)\n");
    const when = /When: (\d{1,2}) (\w+) (\d{4}), (\d{2}):(\d{2}) UTC/.exec(mail.text);
    const at = new Date(`${when?.[1]} ${when?.[2]} ${when?.[3]} ${when?.[4]}:${when?.[5]} UTC`).getTime();
    expect(at).toBeGreaterThan(before - 60_000);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(mail.html).toContain("<br>\nAddress: 203.0.113.9<br>");
    expect(mail.text).toContain("\nApp: Demo SPA (public)\nSigned in with: the password\n");
    expect(mail.text).toContain(
      'If this was you, there is nothing more to do. If it was not, someone knows your password: choose a new one with "Forgot password?" on the sign-in page (that signs the account out everywhere), or ask the people',
    );
    expect(mail.raw).not.toContain(PASSWORD);
    // Known now: no second mail, from either address.
    expect(await mailedBy(from(ines, "203.0.113.9"))).toEqual([]);
    expect(await mailedBy(from(ines, "198.51.100.7"))).toEqual([]);
  });

  it("counts an address not signed in from within LOCKOUT_KNOWN_ADDRESS_DAYS as new, as the brute-force defence does", async () => {
    const lena = await newUser("lena");
    await from(lena, "198.51.100.50")();
    await mailedBy(from(lena, "203.0.113.50"));
    const user = await db().user.findFirstOrThrow({ where: { username: "lena" } });
    const days = settings().LOCKOUT_KNOWN_ADDRESS_DAYS;
    const age = (address: string, byDays: number) =>
      db().knownAddress.update({ where: { userId_address: { userId: user.id, address } }, data: { lastSignInAt: new Date(Date.now() - byDays * 86_400_000) } });
    // Its row is still there (no prune ran), but it is past the window: new again, while the other is recent.
    await age("198.51.100.50", days + 1);
    expect((await mailedBy(from(lena, "198.51.100.50"))).map((m) => m.subject)).toEqual(["New sign-in to your account at Default workspace"]);
    // Every address past the window: no other is known, so the next is as a first sign-in.
    await age("198.51.100.50", days + 1);
    await age("203.0.113.50", days + 1);
    expect(await mailedBy(from(lena, "192.0.2.50"))).toEqual([]);
  });

  it("never fails the sign-in: a notice that cannot be made is dropped, and logged", async () => {
    const mona = await newUser("mona");
    await from(mona, "198.51.100.60")();
    const logged = captureRequestLogs();
    knownAddress.fails = true;
    try {
      expect(await mailedBy(from(mona, "203.0.113.60"))).toEqual([]);
    } finally {
      knownAddress.fails = false;
    }
    expect(logged()).toContainEqual(
      expect.objectContaining({ level: 50, event: "account.notice.new_sign_in.dropped", userId: expect.any(String), err: "the database went away" }),
    );
  });

  it("waits for the second factor: a password step alone is no sign-in", async () => {
    const dave = { username: "dave", password: "dave-password-1" };
    const secondStep = async (address: string, recovery_code: string) => {
      const headers = { [PEER_HEADER]: peerHeaderValue(address), "User-Agent": FIREFOX };
      const mfa_token = await mfaTokenFor({ ...SPA, ...dave }, headers);
      const done = await postToken({ grant_type: MFA_RECOVERY_CODE, ...SPA, mfa_token, recovery_code }, headers);
      expect(done.status).toBe(200);
    };
    expect(await mailedBy(() => secondStep("198.51.100.20", DAVE_RECOVERY_CODES[0]!))).toEqual([]);
    expect(await mailedBy(() => mfaTokenFor({ ...SPA, ...dave }, { [PEER_HEADER]: peerHeaderValue("203.0.113.20") }))).toEqual([]);
    const mails = await mailedBy(() => secondStep("203.0.113.20", DAVE_RECOVERY_CODES[1]!));
    expect(mails.map((m) => [m.rcptTo, m.subject])).toEqual([[["dave@example.com"], "New sign-in to your account at Default workspace"]]);
    expect(mails[0]!.text).toContain("\nAddress: 203.0.113.20\n");
    // It says what the sign-in passed, and what to do about a recovery code someone else has.
    expect(mails[0]!.text).toContain("\nSigned in with: the password and a recovery code\n");
    expect(mails[0]!.text).toContain(
      'If it was not, someone knows your password and has one of your recovery codes: choose a new password with "Forgot password?" on the sign-in page (that signs the account out everywhere), then "Get new recovery codes" on your account page, or ask',
    );
    // And one that passed a code from the authenticator app says so.
    const withApp = await mailedBy(async () => {
      const headers = { [PEER_HEADER]: peerHeaderValue("192.0.2.20"), "User-Agent": FIREFOX };
      const mfa_token = await mfaTokenFor({ ...SPA, ...dave }, headers);
      expect((await postToken({ grant_type: MFA_OTP, ...SPA, mfa_token, otp: codeAt(DAVE_SECRET) }, headers)).status).toBe(200);
    });
    expect(withApp.map((m) => m.text.match(/\nSigned in with: (.*)\n/)?.[1])).toEqual(["the password and a code from the authenticator app"]);
  });

  it("mails nothing with SIGN_IN_NOTICE=off", async () => {
    const jude = await newUser("jude");
    await from(jude, "198.51.100.30")();
    const off = vi.spyOn(settings(), "SIGN_IN_NOTICE", "get").mockReturnValue("off");
    expect(await mailedBy(from(jude, "203.0.113.30"))).toEqual([]);
    // The control: on again, the next new address is mailed.
    off.mockRestore();
    expect((await mailedBy(from(jude, "192.0.2.30"))).map((m) => m.subject)).toEqual(["New sign-in to your account at Default workspace"]);
  });

  it("mails nothing after a change of password: it forgets every address, so the next sign-in is as the first", async () => {
    const kira = await newUser("kira");
    await from(kira, "198.51.100.40")();
    const token = await accountToken(kira);
    await mailedBy(async () => expect((await changePassword(token, PASSWORD, NEW_PASSWORD)).status).toBe(204));
    const renewed = { username: "kira", password: NEW_PASSWORD };
    expect(await mailedBy(from(renewed, "203.0.113.40"))).toEqual([]);
    // That sign-in's address is the one known now: another is new.
    expect((await mailedBy(from(renewed, "192.0.2.40"))).map((m) => m.subject)).toEqual(["New sign-in to your account at Default workspace"]);
  });
});

describe("nextTry", () => {
  const createdAt = new Date("2026-12-06T12:00:00Z");
  const at = (minutes: number) => new Date(createdAt.getTime() + minutes * 60_000);
  it("waits 1, 5 and 15 minutes after the first three tries, then an hour, and gives up past a day after the change", () => {
    expect([1, 2, 3, 4, 9].map((attempts) => nextTry({ attempts, createdAt }, at(10))?.toISOString())).toEqual(
      [11, 15, 25, 70, 70].map((minutes) => at(minutes).toISOString()),
    );
    expect(nextTry({ attempts: 20, createdAt }, at(23 * 60))?.toISOString()).toBe(at(24 * 60).toISOString());
    expect(nextTry({ attempts: 20, createdAt }, at(23 * 60 + 1))).toBeUndefined();
  });
});

describe("asNamed", () => {
  it.each([
    ["Firefox on Linux", "Firefox on Linux"],
    ["Chrome on SM-G991B", "Chrome on SM-G991B"],
    ["Chrome on Pixel; <a href=https://evil.example/verify>verify now</a>", "Chrome on Pixel a hrefhttpsevilexampleverifyverify nowa"],
    ["Firefox on evil.example", "Firefox on evilexample"],
    ["𝐀".repeat(70), "𝐀".repeat(60)],
    ["Chrome on " + "x".repeat(100), "Chrome on " + "x".repeat(50)],
    ["<>:/;", "Unknown device"],
  ])("keeps %j as %j: no link, no markup, no message of the sender's own", (device, named) => {
    expect(asNamed(device)).toBe(named);
  });
});

describe("the new sign-in notice's app and second factor", () => {
  const to = { workspaceName: "Default workspace", username: "ines", to: "ines@example.com" };
  const notice = { kind: "new_sign_in", at: "2026-12-07T17:20:05.123Z", address: "203.0.113.9", device: "Firefox on Linux" } as const;
  const app = (client: string, clientName?: string) => /\nApp: (.*)\n/.exec(noticeMail(to, { ...notice, client, clientName }).text)?.[1];

  it("is named as its registration named it, with no link, address or markup of the registrant's", () => {
    expect(app("demo-spa", "Demo SPA (public)")).toBe("Demo SPA (public)");
    expect(app("x1", "Security team: <b>verify</b> at https://evil.example/ or help@evil.example")).toBe(
      "Security team bverifyb at httpsevilexample or helpevilexampl",
    );
  });

  it("is its client_id when nothing of its name is left, and 'Unknown app' when nothing of either is", () => {
    expect(app("demo-spa", "<>:/")).toBe("demo-spa");
    expect(app("</>", "<>")).toBe("Unknown app");
  });

  it("is its client_id in a notice made before names were mailed, for a job still pending", () => {
    expect(app("demo-spa")).toBe("demo-spa");
  });

  it.each([
    [undefined, "the password", "someone knows your password: choose a new one with", ""],
    [
      "otp",
      "the password and a code from the authenticator app",
      "someone knows your password and has your authenticator app's codes: choose a new password with",
      ', then "Turn off two-step verification" on your account page and set it up again with a new entry in the app',
    ],
    [
      "recovery-code",
      "the password and a recovery code",
      "someone knows your password and has one of your recovery codes: choose a new password with",
      ', then "Get new recovery codes" on your account page',
    ],
  ] as const)("says a sign-in with second factor %s was made with %j, and that if it was not the owner's, %j", (secondFactor, how, known, then) => {
    const { text } = noticeMail(to, { ...notice, client: "demo-spa", secondFactor });
    expect(text).toContain(`\nSigned in with: ${how}\n`);
    expect(text).toContain(
      `If it was not, ${known} "Forgot password?" on the sign-in page (that signs the account out everywhere)${then}, or ask the people who run this service for help straight away.\n`,
    );
  });
});

describe("maskedEmail", () => {
  it.each([
    ["bob@example.com", "b***@example.com"],
    ["b@example.com", "b***@example.com"],
    ["élodie@example.fr", "é***@example.fr"],
    ['"a@b"@example.com', '"***@example.com'],
  ])("masks %s as %s", (email, masked) => {
    expect(maskedEmail(email)).toBe(masked);
  });
});
