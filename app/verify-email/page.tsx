import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import Link from "next/link";
import { connection } from "next/server";
import { messageFor, VERIFY_EMAIL_MESSAGES } from "@/lib/login/recovery-messages.ts";

export const metadata = { title: "Confirm your email address" };

/**
 * Where a confirmation link leads (`?token=`). Opening the link confirms nothing by itself (mail
 * scanners open links): the button posts the token.
 */
export default async function VerifyEmailPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await connection();
  const params = await searchParams;
  const token = typeof params.token === "string" ? params.token : "";
  if (params.done === "1") {
    return (
      <PageFrame>
        <h1>Email address confirmed</h1>
        <p data-testid="verify-done">Your account now uses this email address.</p>
        <p>
          <Link href="/account">Go to your account</Link>
        </p>
      </PageFrame>
    );
  }
  const message = messageFor(VERIFY_EMAIL_MESSAGES, params.error) ?? (token === "" ? VERIFY_EMAIL_MESSAGES.invalid_link : undefined);
  return (
    <PageFrame>
      <h1>Confirm your email address</h1>
      {message && (
        <div role="alert" data-testid="verify-message" className="message">
          {message}
        </div>
      )}
      {token !== "" && !message && (
        <form method="post" action="/verify-email/submit">
          <input type="hidden" name="token" value={token} />
          <p className="hint">Confirm that this address is yours, and your account will use it from now on.</p>
          <button type="submit">Confirm the address</button>
        </form>
      )}
      <p>
        <Link href="/account">Go to your account</Link>
      </p>
    </PageFrame>
  );
}
