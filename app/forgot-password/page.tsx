import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import Link from "next/link";
import { connection } from "next/server";
import { recoveryOffered } from "@/lib/login/recovery.ts";
import { FORGOT_PASSWORD_MESSAGES, messageFor } from "@/lib/login/recovery-messages.ts";

export const metadata = { title: "Forgot password" };

export default async function ForgotPasswordPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await connection();
  const params = await searchParams;
  if (!(await recoveryOffered())) {
    return (
      <PageFrame>
        <h1>Forgot password</h1>
        <p data-testid="recovery-off">Password recovery is not available here. Please contact your administrator.</p>
        <p>
          <Link href="/login">Back to sign in</Link>
        </p>
      </PageFrame>
    );
  }
  if (params.sent === "1") {
    return (
      <PageFrame>
        <h1>Check your email</h1>
        <p data-testid="recovery-sent">
          If an account exists, we&apos;ve sent a link to reset its password to its email address. The link works once and expires soon.
        </p>
        <p>
          <Link href="/login">Back to sign in</Link>
        </p>
      </PageFrame>
    );
  }
  const message = messageFor(FORGOT_PASSWORD_MESSAGES, params.error);
  return (
    <PageFrame>
      <h1>Forgot password</h1>
      <p className="hint">Enter your username or email address. If an account matches, we&apos;ll email it a link to choose a new password.</p>
      <form method="post" action="/forgot-password/submit">
        {message && (
          <div id="recovery-message" role="alert" data-testid="recovery-message" className="message">
            {message}
          </div>
        )}
        <label htmlFor="identifier">Username or email</label>
        <input
          id="identifier"
          name="identifier"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          maxLength={255}
          aria-describedby={message ? "recovery-message" : undefined}
          autoFocus={Boolean(message)}
        />
        <button type="submit">Send the link</button>
      </form>
      <p>
        <Link href="/login">Back to sign in</Link>
      </p>
    </PageFrame>
  );
}
