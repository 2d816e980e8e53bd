import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import Link from "next/link";
import { connection } from "next/server";
import { passwordPolicy, policyRules } from "@/lib/login/recovery.ts";
import { messageFor, PASSWORD_RULE_MESSAGES, RESET_PASSWORD_MESSAGES } from "@/lib/login/recovery-messages.ts";

export const metadata = { title: "Choose a new password" };

/**
 * The page a reset link leads to (`?token=`). The token is in the URL, as with every emailed link;
 * the app's pages send `Referrer-Policy: no-referrer`, so it never leaves in a Referer header, and
 * the access log never writes a query string.
 */
export default async function ResetPasswordPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  await connection();
  const params = await searchParams;
  const token = typeof params.token === "string" ? params.token : "";
  const error = typeof params.error === "string" ? params.error : undefined;
  if (token === "" || error === "invalid_link") {
    return (
      <PageFrame>
        <h1>Choose a new password</h1>
        <div role="alert" data-testid="reset-message" className="message">
          {RESET_PASSWORD_MESSAGES.invalid_link}
        </div>
        <p>
          <Link href="/forgot-password">Ask for a new link</Link>
        </p>
      </PageFrame>
    );
  }
  const policy = await passwordPolicy();
  const message =
    error === "policy"
      ? (messageFor(PASSWORD_RULE_MESSAGES, params.rule) ?? "That password is not allowed. Choose another.")
      : messageFor(RESET_PASSWORD_MESSAGES, error);
  return (
    <PageFrame>
      <h1>Choose a new password</h1>
      <form method="post" action="/reset-password/submit" aria-describedby="password-rules">
        {message && (
          <div id="reset-message" role="alert" data-testid="reset-message" className="message">
            {message}
          </div>
        )}
        <input type="hidden" name="token" value={token} />
        <div id="password-rules" className="hint">
          Your new password needs:
          <ul data-testid="password-rules">
            {policyRules(policy).map((rule) => (
              <li key={rule}>{rule}</li>
            ))}
          </ul>
        </div>
        <label htmlFor="password">New password</label>
        {/* No maxlength: a browser counts UTF-16 units and would cut a long password the server takes (it says so of one too long). */}
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          minLength={policy.minLength}
          aria-describedby={message ? "reset-message password-rules" : "password-rules"}
          aria-invalid={error === "policy" || error === "mismatch" || undefined}
          autoFocus={Boolean(message)}
        />
        <label htmlFor="confirm">New password again</label>
        <input id="confirm" name="confirm" type="password" autoComplete="new-password" required minLength={policy.minLength} />
        <button type="submit">Set the new password</button>
      </form>
      <p>
        <Link href="/login">Back to sign in</Link>
      </p>
    </PageFrame>
  );
}
