import type { Transporter } from "nodemailer";
import { isThisMachine, settings, type Settings } from "@/lib/platform/env.ts";
import { logger, type Logger } from "@/lib/platform/logger.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

/** One mail: a plain-text body and the same in simple HTML. */
export interface Mail {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** A mail as the development mailbox keeps it. */
export interface SentMail extends Mail {
  from: string;
  sentAt: Date;
}

/**
 * How this process sends mail: through SMTP_URL (`smtp`); without it, outside production, to the
 * log and the development mailbox (`development`); in production without it, not at all (`off`:
 * whatever needs mail, password recovery first, is off).
 */
export type MailDelivery = "smtp" | "development" | "off";

export function mailDelivery(s: Pick<Settings, "SMTP_URL" | "isProduction"> = settings()): MailDelivery {
  if (s.SMTP_URL !== undefined) return "smtp";
  return s.isProduction ? "off" : "development";
}

/** The sender outside production when MAIL_FROM is unset (with SMTP_URL it is required). */
const DEVELOPMENT_FROM = "no-reply@localhost";

/** The mails a development process keeps for /dev/mailbox: the newest, at most this many. */
export const DEV_MAILBOX_SIZE = 50;

// On globalThis: `next dev` may load this module more than once, and the page must see what an
// endpoint of the same process sent.
const MAILBOX = Symbol.for("ropc.dev-mailbox");
const store = globalThis as typeof globalThis & { [MAILBOX]?: SentMail[] };

/**
 * What this process sent in development, newest first; always empty in production (a mailbox of
 * reset links must never be served there).
 */
export function devMailbox(): readonly SentMail[] {
  if (mailDelivery() !== "development") return [];
  return [...(store[MAILBOX] ?? [])].reverse();
}

export function clearDevMailbox(): void {
  store[MAILBOX] = [];
}

/** A failure to hand a mail to the SMTP server; its message names no credential. */
export class MailFailure extends Error {
  override name = "MailFailure";
  /**
   * `unreachable`: the server could not be reached, or would not take mail from us at all (no
   * connection, no answer, TLS or login refused, closing: 421), so that any other mail would fail
   * alike for now; false when it refused this mail alone (its sender, a recipient, its content).
   */
  constructor(
    message: string,
    readonly unreachable = false,
  ) {
    super(message);
  }
}

// nodemailer's codes for a failure of the connection or the session, not of one mail (EENVELOPE,
// EMESSAGE and ESTREAM are one mail's).
const SESSION_FAILURES = new Set(["ECONNECTION", "ETIMEDOUT", "ESOCKET", "EDNS", "ETLS", "EREQUIRETLS", "EHLO", "EAUTH", "EPROTOCOL"]);
function unreachable(err: unknown): boolean {
  const { code, responseCode } = (err ?? {}) as { code?: unknown; responseCode?: unknown };
  return (typeof code === "string" && SESSION_FAILURES.has(code)) || responseCode === 421;
}

// One transport (and its connection pool) per SMTP_URL, made at the first mail. nodemailer is
// loaded then too: a server that sends no mail never holds its modules (0.8 MB of live heap).
let transport: { key: string; transporter: Transporter } | undefined;

/**
 * Closes the pool's connections to the SMTP server: at shutdown (lib/platform/leftover-work.ts
 * finds it on globalThis, as it finds the audit queue), and in a test before its server closes.
 */
export function closeMailTransport(): void {
  transport?.transporter.close();
  transport = undefined;
}
(globalThis as Record<symbol, unknown>)[Symbol.for("ropc.mail")] = { close: closeMailTransport };

async function transporterFor(url: string, production: boolean): Promise<Transporter> {
  // In production an smtp:// server on another machine must take STARTTLS: nodemailer uses it
  // only when offered, so a server without it (or someone on the way who strips it from the
  // answer) would get the account's password and the mailed reset links in clear. smtps:// is
  // TLS from the start.
  const parsed = new URL(url);
  const requireTLS = production && parsed.protocol === "smtp:" && !isThisMachine(parsed.hostname);
  const key = `${requireTLS} ${url}`;
  if (transport?.key !== key) {
    const { default: nodemailer } = await import("nodemailer");
    if (transport?.key === key) return transport.transporter;
    transport?.transporter.close();
    // The options from the URL, not the URL itself: given `url`, nodemailer takes the URL's
    // options alone and drops every other (the pool, the timeouts, requireTLS).
    transport = {
      key,
      transporter: nodemailer.createTransport({
        host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: Number(parsed.port) || (parsed.protocol === "smtps:" ? 465 : 587),
        secure: parsed.protocol === "smtps:",
        ...(parsed.username ? { auth: { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) } } : {}),
        requireTLS,
        pool: true,
        maxConnections: 2,
        // Timeouts so that a silent mail server cannot hold a request's work for minutes.
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      }),
    };
  }
  return transport.transporter;
}

/**
 * Sends a mail the way this process is configured to (see `mailDelivery`). Throws MailFailure
 * when the SMTP server refuses it or cannot be reached, and when mail is off.
 */
export async function sendMail(mail: Mail, log: Logger = logger): Promise<void> {
  const s = settings();
  const from = s.MAIL_FROM ?? DEVELOPMENT_FROM;
  const delivery = mailDelivery(s);
  if (delivery === "off") throw new MailFailure("mail is off: SMTP_URL is not set");
  if (delivery === "development") {
    // Development only: the link in the body is the point of the line (there is no mail server).
    log.info({ event: "mail.development", to: mail.to, subject: mail.subject, body: mail.text }, `mail to ${mail.to} (development: see /dev/mailbox)`);
    const kept = store[MAILBOX] ?? [];
    kept.push({ ...mail, from, sentAt: new Date() });
    store[MAILBOX] = kept.slice(-DEV_MAILBOX_SIZE);
    return;
  }
  try {
    await (await transporterFor(s.SMTP_URL ?? "", s.isProduction)).sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
  } catch (err) {
    // nodemailer's messages carry the server's reply and code, never the URL or its password.
    const reason = messageOf(err);
    throw new MailFailure(`the SMTP server did not take the mail: ${reason}`, unreachable(err));
  }
}

/** Logged once at start: how mail goes out, and in production without SMTP_URL, what is off. */
export function reportMailAtStart(log: Logger = logger, s: Settings = settings()): void {
  const delivery = mailDelivery(s);
  if (delivery === "off") {
    log.warn(
      { event: "mail.off" },
      "SMTP_URL is not set: no mail is sent, so password recovery and email verification are off. Set SMTP_URL (and MAIL_FROM) to turn them on.",
    );
  } else if (delivery === "development") {
    log.info({ event: "mail.development" }, "SMTP_URL is not set: mail goes to the log and to /dev/mailbox (development only)");
  } else {
    const url = new URL(s.SMTP_URL ?? "");
    // The host and port only: never the account or its password.
    log.info({ event: "mail.smtp", host: url.hostname, port: url.port || (url.protocol === "smtps:" ? "465" : "587") }, "mail goes out through SMTP_URL");
  }
}

/** Escapes text for an HTML body or attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);
}
