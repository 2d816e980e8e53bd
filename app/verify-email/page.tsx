import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import Link from "next/link";
import { connection } from "next/server";
import { messageFor, RETRYABLE_VERIFY_ERRORS, VERIFY_EMAIL_MESSAGES } from "@/lib/login/recovery-messages.ts";
import { linkIssuer } from "@/lib/login/email-verification.ts";

export const metadata = { title: "Confirm your email address" };

const text = (value: string | string[] | undefined) => (typeof value === "string" ? value : "");

/**
 * Where a confirmation link leads (`?token=&tenant=&workspace=`). Opening the link confirms
 * nothing by itself (mail scanners open links): the button posts the token. The link names the
 * account's workspace; for one that is not this app's own, the page wears the default look, not
 * this app's workspace's, and offers no way to this app's account page, which is not that account's.
 */
export default async function VerifyEmailPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await connection();
  const params = await searchParams;
  const token = text(params.token);
  const [tenant, workspace] = [text(params.tenant), text(params.workspace)];
  const target = linkIssuer(tenant, workspace);
  const branded = target?.own === true;
  const accountLink = branded ? (
    <p>
      <Link href="/account">Go to your account</Link>
    </p>
  ) : null;
  if (params.done === "1") {
    return (
      <PageFrame branded={branded}>
        <h1>Email address confirmed</h1>
        <p data-testid="verify-done">Your account now uses this email address.</p>
        {accountLink ?? <p className="hint">You can close this page.</p>}
      </PageFrame>
    );
  }
  const message = messageFor(VERIFY_EMAIL_MESSAGES, params.error) ?? (token === "" || !target ? VERIFY_EMAIL_MESSAGES.invalid_link : undefined);
  return (
    <PageFrame branded={branded}>
      <h1>Confirm your email address</h1>
      {message && (
        <div role="alert" data-testid="verify-message" className="message">
          {message}
        </div>
      )}
      {token !== "" && (!message || RETRYABLE_VERIFY_ERRORS.has(text(params.error))) && (
        <form method="post" action="/verify-email/submit">
          <input type="hidden" name="token" value={token} />
          <input type="hidden" name="tenant" value={tenant} />
          <input type="hidden" name="workspace" value={workspace} />
          <p className="hint">Confirm that this address is yours, and your account will use it from now on.</p>
          <button type="submit">Confirm the address</button>
        </form>
      )}
      {accountLink}
    </PageFrame>
  );
}
