import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import { notFound } from "next/navigation";
import { connection } from "next/server";
import { devMailbox, mailDelivery } from "@/lib/platform/mail.ts";

export const metadata = { title: "Development mailbox" };

const LINK = /https?:\/\/[^\s<>"]+/g;

/**
 * Development only: the mail this process sent without SMTP_URL (lib/platform/mail.ts), newest
 * first. `npm run dev` serves the authorization server and the login app from one process, so the
 * mails of the one are here for the other. Never served in production (404).
 */
export default async function DevMailboxPage() {
  await connection();
  if (mailDelivery() !== "development") notFound();
  const mails = devMailbox();
  return (
    <PageFrame width="wide">
      <h1>Development mailbox</h1>
      <p className="hint">
        What this server sent while <code>SMTP_URL</code> is unset, newest first (the last 50; gone at restart).
      </p>
      {mails.length === 0 && <p data-testid="mailbox-empty">No mail yet.</p>}
      {mails.map((mail, i) => (
        <article key={i} className="mail" data-testid="mail">
          <h2>{mail.subject}</h2>
          <p className="hint">
            To {mail.to}, {mail.sentAt.toISOString().replace("T", " ").slice(0, 19)} UTC
          </p>
          <pre>{mail.text}</pre>
          {[...new Set(mail.text.match(LINK) ?? [])].map((href) => (
            <p key={href}>
              <a href={href} rel="noreferrer">
                Open the link
              </a>
            </p>
          ))}
        </article>
      ))}
    </PageFrame>
  );
}
