import net, { type AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { capturingLogger } from "@/lib/testing/logs.ts";
import { parseSettings, productionProblems, settings } from "@/lib/platform/env.ts";
import { SMTPServer } from "smtp-server";
import {
  clearDevMailbox,
  closeMailTransport,
  DEV_MAILBOX_SIZE,
  devMailbox,
  escapeHtml,
  MailFailure,
  mailDelivery,
  reportMailAtStart,
  sendMail,
} from "@/lib/platform/mail.ts";
import { startSmtpServer, type TestSmtpServer } from "@/lib/testing/smtp.ts";

const MAIL = { to: "alice@example.com", subject: "Reset your password", text: "Follow https://app.example/reset-password?token=abc", html: "<p>Follow</p>" };

const original = { ...settings() };
afterEach(() => {
  Object.assign(settings(), { SMTP_URL: original.SMTP_URL, MAIL_FROM: original.MAIL_FROM, isProduction: original.isProduction });
  clearDevMailbox();
});

describe("mail through SMTP_URL, to a real SMTP server", () => {
  let smtp: TestSmtpServer;
  beforeAll(async () => {
    smtp = await startSmtpServer();
  });
  afterAll(() => smtp.close());

  it("logs in with the URL's account and delivers both bodies from MAIL_FROM", async () => {
    Object.assign(settings(), { SMTP_URL: smtp.url, MAIL_FROM: "Example Login <no-reply@example.com>" });
    expect(mailDelivery()).toBe("smtp");
    await sendMail(MAIL);
    const mail = await smtp.nextMail();
    expect(mail.mailFrom).toBe("no-reply@example.com");
    expect(mail.rcptTo).toEqual(["alice@example.com"]);
    expect(mail.from).toBe('"Example Login" <no-reply@example.com>');
    expect(mail.subject).toBe("Reset your password");
    expect(mail.text.trim()).toBe(MAIL.text);
    expect(mail.html).toContain("<p>Follow</p>");
    // Nothing of this mail went to the development mailbox.
    expect(devMailbox()).toEqual([]);
  });

  it("fails with a MailFailure that never shows the URL's password when the server refuses the account", async () => {
    const wrong = smtp.url.replace(/:[^:@/]+@/, ":wrong-secret-9@");
    Object.assign(settings(), { SMTP_URL: wrong, MAIL_FROM: "no-reply@example.com" });
    const failure = await sendMail(MAIL).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(MailFailure);
    expect((failure as Error).message).toMatch(/^the SMTP server did not take the mail: /);
    expect((failure as Error).message).not.toContain("wrong-secret-9");
    expect((failure as Error).message).not.toContain("mailer");
    // Every other mail would be refused alike.
    expect((failure as MailFailure).unreachable).toBe(true);
  });

  it("fails with a MailFailure of that mail alone when the server refuses the mail (451)", async () => {
    Object.assign(settings(), { SMTP_URL: smtp.url, MAIL_FROM: "no-reply@example.com" });
    smtp.refuseNext(1);
    const failure = await sendMail(MAIL).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(MailFailure);
    expect((failure as Error).message).toMatch(/^the SMTP server did not take the mail: .*451/);
    expect((failure as MailFailure).unreachable).toBe(false);
    // The next one is taken.
    await sendMail(MAIL);
    expect((await smtp.nextMail()).subject).toBe(MAIL.subject);
  });

  it("in production, logs in and sends in clear only to a server on this machine", async () => {
    Object.assign(settings(), { SMTP_URL: smtp.url, MAIL_FROM: "no-reply@example.com", isProduction: true });
    await sendMail(MAIL);
    expect((await smtp.nextMail()).subject).toBe(MAIL.subject);
  });

  it("in production, refuses a server elsewhere that offers no STARTTLS: the password and the links never go in clear", async () => {
    // 127.0.0.2 is on this machine too, but not by a name the server takes for its own.
    const elsewhere = await startSmtpServer({ host: "127.0.0.2" });
    try {
      Object.assign(settings(), { SMTP_URL: elsewhere.url, MAIL_FROM: "no-reply@example.com", isProduction: true });
      const failure = await sendMail(MAIL).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(MailFailure);
      expect((failure as Error).message).toMatch(/^the SMTP server did not take the mail: .*STARTTLS/);
      expect((failure as MailFailure).unreachable).toBe(true);
      expect(elsewhere.received).toEqual([]);
      // Outside production it goes through (a development relay).
      Object.assign(settings(), { isProduction: false });
      await sendMail(MAIL);
      expect((await elsewhere.nextMail()).subject).toBe(MAIL.subject);
    } finally {
      await elsewhere.close();
    }
  });

  it("gives up on a server that accepts the connection and says nothing, after its 10-s greeting timeout", async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      Object.assign(settings(), { SMTP_URL: `smtp://u:p@127.0.0.1:${port}`, MAIL_FROM: "no-reply@example.com" });
      const started = Date.now();
      const failure = await sendMail(MAIL).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(MailFailure);
      expect((failure as Error).message).toMatch(/Greeting never received/);
      expect((failure as MailFailure).unreachable).toBe(true);
      // Not nodemailer's own 30 s (before, the URL's options replaced ours).
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      silent.close();
    }
  }, 25_000);

  it("takes a 421 (the server closing) for a server that takes no mail for now, whatever the command it answers", async () => {
    // A server that answers the envelope's sender with 421: nodemailer calls that an envelope
    // failure (one mail's), and only the code says the server is going away.
    const closing = new SMTPServer({
      disabledCommands: ["STARTTLS", "AUTH"],
      logger: false,
      onMailFrom(_address, _session, callback) {
        callback(Object.assign(new Error("Service not available, closing transmission channel"), { responseCode: 421 }));
      },
    });
    await new Promise<void>((resolve) => closing.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = closing.server.address() as AddressInfo;
      Object.assign(settings(), { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: "no-reply@example.com" });
      const failure = await sendMail(MAIL).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(MailFailure);
      expect((failure as Error).message).toMatch(/^the SMTP server did not take the mail: .*421/);
      expect((failure as MailFailure).unreachable).toBe(true);
    } finally {
      closeMailTransport();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    }
  });

  it("fails with a MailFailure when no server answers", async () => {
    Object.assign(settings(), { SMTP_URL: "smtp://u:p@127.0.0.1:1", MAIL_FROM: "no-reply@example.com" });
    const failure = await sendMail(MAIL).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(MailFailure);
    expect((failure as MailFailure).unreachable).toBe(true);
  });
});

describe("mail without SMTP_URL", () => {
  it("goes to the development mailbox outside production, newest first and bounded", async () => {
    Object.assign(settings(), { SMTP_URL: undefined, MAIL_FROM: undefined, isProduction: false });
    expect(mailDelivery()).toBe("development");
    const { log, lines } = capturingLogger();
    await sendMail(MAIL, log);
    expect(devMailbox()).toEqual([expect.objectContaining({ ...MAIL, from: "no-reply@localhost", sentAt: expect.any(Date) })]);
    expect(lines()[0]).toMatchObject({ event: "mail.development", to: "alice@example.com", body: MAIL.text });
    for (let i = 0; i < DEV_MAILBOX_SIZE + 5; i++) await sendMail({ ...MAIL, subject: `mail ${i}` }, log);
    expect(devMailbox()).toHaveLength(DEV_MAILBOX_SIZE);
    expect(devMailbox()[0]!.subject).toBe(`mail ${DEV_MAILBOX_SIZE + 4}`);
  });

  it("is off in production: nothing is sent, and the mailbox shows nothing", async () => {
    Object.assign(settings(), { SMTP_URL: undefined, isProduction: false });
    await sendMail(MAIL, capturingLogger().log);
    Object.assign(settings(), { isProduction: true });
    expect(mailDelivery()).toBe("off");
    expect(devMailbox()).toEqual([]);
    await expect(sendMail(MAIL)).rejects.toThrow(new MailFailure("mail is off: SMTP_URL is not set"));
  });
});

describe("mail at start", () => {
  it("warns in production without SMTP_URL that recovery is off", () => {
    const { log, lines } = capturingLogger();
    reportMailAtStart(log, parseSettings({ NODE_ENV: "production" }));
    expect(lines()[0]).toMatchObject({ level: 40, event: "mail.off", msg: expect.stringMatching(/password recovery .* off\. Set SMTP_URL/) });
  });

  it("names the SMTP host and port, never the account or its password", () => {
    const { log, lines } = capturingLogger();
    reportMailAtStart(log, parseSettings({ NODE_ENV: "production", SMTP_URL: "smtps://mailer:s3cret-pw@mail.example.com", MAIL_FROM: "no-reply@example.com" }));
    expect(lines()[0]).toMatchObject({ event: "mail.smtp", host: "mail.example.com", port: "465" });
    expect(JSON.stringify(lines())).not.toMatch(/s3cret-pw|mailer/);
  });
});

describe("mail settings", () => {
  const production = {
    NODE_ENV: "production",
    APP_URL: "https://login.example.com",
    NEXTAUTH_SECRET: "mail-test-nextauth-secret-0123456789",
    LOGIN_CLIENT_SECRET: "mail-test-login-client-secret-01",
    DATABASE_URL: "file:/d.db",
  };

  it("takes smtp:// and smtps:// URLs with an account, and a sender", () => {
    expect(productionProblems({ ...production, SMTP_URL: "smtp://u:p@mail.example.com:587", MAIL_FROM: "no-reply@example.com" })).toEqual([]);
    expect(productionProblems({ ...production, SMTP_URL: "smtps://mail.example.com", MAIL_FROM: "Example <no-reply@example.com>" })).toEqual([]);
  });

  it.each([
    [
      { SMTP_URL: "http://mail.example.com", MAIL_FROM: "a@example.com" },
      /^Invalid setting SMTP_URL: must be an smtp:\/\/ or smtps:\/\/ URL, e\.g\. smtp:\/\/user:password@/,
    ],
    [{ SMTP_URL: "smtp://u:p@mail.example.com" }, /^Invalid setting MAIL_FROM: required with SMTP_URL/],
    [{ MAIL_FROM: "not an address" }, /^Invalid setting MAIL_FROM: must be an address or a name and an address/],
    [{ MAIL_FROM: "a@example.com\r\nBcc: b@example.com" }, /^Invalid setting MAIL_FROM: /],
    [{ PASSWORD_RESET_TTL_SECONDS: "10" }, /^Invalid setting PASSWORD_RESET_TTL_SECONDS: must be a whole number from 300 to 86400 \(1800 when unset\)\.$/],
  ])("refuses %o, naming the setting", (env, message) => {
    expect(productionProblems({ ...production, ...env })).toEqual([expect.stringMatching(message)]);
  });

  it("never repeats a bad SMTP_URL (its password) in the message", () => {
    const problems = productionProblems({ ...production, SMTP_URL: "ftp://u:hunter2-pw@mail.example.com", MAIL_FROM: "a@example.com" });
    expect(problems.join("\n")).not.toContain("hunter2-pw");
  });
});

it("escapes HTML", () => {
  expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});
