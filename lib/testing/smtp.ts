import type { AddressInfo } from "node:net";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll } from "vitest";
import { settings } from "@/lib/platform/env.ts";
import { closeMailTransport } from "@/lib/platform/mail.ts";

/** A mail as the test SMTP server received it, parsed. */
export interface ReceivedMail {
  /** The envelope: who the client said it was from, and to whom. */
  mailFrom: string;
  rcptTo: string[];
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** The message as it came over the wire. */
  raw: string;
}

export interface TestSmtpServer {
  /** smtp://user:password@127.0.0.1:port */
  url: string;
  received: ReceivedMail[];
  /** Resolves with the next mail to arrive (or the first one not yet taken). */
  nextMail(timeoutMs?: number): Promise<ReceivedMail>;
  /**
   * Resolves with the next mail whose subject starts with `subject`; the mails before it are
   * passed over (taken): a link's mail among the notices that changes to an account send.
   */
  nextMailAbout(subject: string, timeoutMs?: number): Promise<ReceivedMail>;
  /** Marks every mail received so far as taken: `nextMail` waits for a new one. */
  drain(): Promise<void>;
  /** Refuses the next `count` mails after their data, as a busy server does (`451`, try again later). */
  refuseNext(count: number): void;
  close(): Promise<void>;
}

/**
 * A real SMTP server on a local port (the `smtp-server` package; a free one unless `port` is
 * given), requiring the account `user`/`password` and keeping what it receives. No TLS: the
 * connection never leaves the machine (`host` is a loopback address: 127.0.0.2 is one a
 * production server does not take for its own machine by its name).
 */
export async function startSmtpServer({ user = "mailer", password = "p@ss:w0rd/1", port = 0, host = "127.0.0.1" } = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  let taken = 0;
  let refusing = 0;
  const waiting: Array<() => void> = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    // A client's pooled connections (another process's: the end-to-end server) end a second after
    // close, not the 30 s smtp-server waits for them by default.
    closeTimeout: 1_000,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === password) return callback(null, { user });
      callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if (refusing > 0) {
          refusing--;
          callback(Object.assign(new Error("Requested action aborted: try again later"), { responseCode: 451 }));
          return;
        }
        const raw = Buffer.concat(chunks).toString("utf8");
        simpleParser(raw)
          .then((parsed) => {
            received.push({
              mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              rcptTo: session.envelope.rcptTo.map((r) => r.address),
              from: parsed.from?.text ?? "",
              to: (Array.isArray(parsed.to) ? parsed.to[0]?.text : parsed.to?.text) ?? "",
              subject: parsed.subject ?? "",
              text: parsed.text ?? "",
              html: typeof parsed.html === "string" ? parsed.html : "",
              raw,
            });
            waiting.splice(0).forEach((wake) => wake());
            callback();
          })
          .catch((err: Error) => callback(err));
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const { port: bound } = server.server.address() as AddressInfo;
  const enc = encodeURIComponent;
  async function nextMail(timeoutMs = 5000): Promise<ReceivedMail> {
    const deadline = Date.now() + timeoutMs;
    while (received.length <= taken) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("no mail arrived");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return received[taken++]!;
  }
  return {
    url: `smtp://${enc(user)}:${enc(password)}@${host}:${bound}`,
    received,
    nextMail,
    async nextMailAbout(subject, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mail = await nextMail(Math.max(0, deadline - Date.now()));
        if (mail.subject.startsWith(subject)) return mail;
      }
    },
    async drain() {
      taken = received.length;
    },
    refuseNext(count) {
      refusing = count;
    },
    // The app's pooled connections first: the server waits for its connections to end.
    close: () => {
      closeMailTransport();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A test file's SMTP server: started before its tests as SMTP_URL (`mailFrom` as MAIL_FROM), closed
 * after them with the settings as they were. The object stands for the server once it has started.
 */
export function smtpServerForTheseTests(mailFrom: string): TestSmtpServer {
  let started: TestSmtpServer | undefined;
  const original = { SMTP_URL: settings().SMTP_URL, MAIL_FROM: settings().MAIL_FROM, isProduction: settings().isProduction };
  beforeAll(async () => {
    started = await startSmtpServer();
    Object.assign(settings(), { SMTP_URL: started.url, MAIL_FROM: mailFrom });
  });
  afterAll(async () => {
    Object.assign(settings(), original);
    await started?.close();
  });
  const server = () => {
    if (!started) throw new Error("the test SMTP server starts before the tests (beforeAll)");
    return started;
  };
  return {
    get url() {
      return server().url;
    },
    get received() {
      return server().received;
    },
    nextMail: (timeoutMs) => server().nextMail(timeoutMs),
    nextMailAbout: (subject, timeoutMs) => server().nextMailAbout(subject, timeoutMs),
    drain: () => server().drain(),
    refuseNext: (count) => server().refuseNext(count),
    close: () => server().close(),
  };
}
