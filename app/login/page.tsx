import Link from "next/link";
import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import { redirect } from "next/navigation";
import { settings } from "@/lib/platform/env.ts";
import { safeCallbackPath } from "@/lib/login/callback-url.ts";
import { currentMfaStep, currentSession } from "@/lib/login/current-session.ts";
import { SESSION_ENDED_MESSAGE, SIGNED_OUT_MESSAGE, signInMessage } from "@/lib/login/messages.ts";
import { operatorHint } from "@/lib/login/self-check.ts";
import { recoveryOffered } from "@/lib/login/recovery.ts";
import { PASSWORD_RESET_DONE_MESSAGE } from "@/lib/login/recovery-messages.ts";
import { LoginForm } from "./login-form.tsx";
import { SecondStep } from "./second-step.tsx";

export const metadata = { title: "Sign in" };

const NOTICES: Record<string, string> = {
  expired: SESSION_ENDED_MESSAGE,
  mfa_expired: signInMessage("mfa_expired"),
  signed_out: SIGNED_OUT_MESSAGE,
  password_reset: PASSWORD_RESET_DONE_MESSAGE,
};

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = safeCallbackPath(typeof params.callbackUrl === "string" ? params.callbackUrl : undefined, settings().APP_URL);
  if (await currentSession()) redirect(callbackUrl);
  const reason = typeof params.reason === "string" && Object.hasOwn(NOTICES, params.reason) ? NOTICES[params.reason] : undefined;
  // A sign-in posted without script comes back here with its error code (lib/login/form-sign-in.ts).
  const error = reason === undefined && typeof params.error === "string" ? params.error : undefined;
  const step = await currentMfaStep();
  if (step) {
    // What the password form's page said (signed out, say) is over once the password was right.
    const notice = error === undefined ? undefined : signInMessage(error);
    return <SecondStep step={step} callbackUrl={callbackUrl} useRecoveryCode={params.method === "recovery-code"} notice={notice} />;
  }
  return (
    <PageFrame>
      <h1>Sign in</h1>
      <LoginForm callbackUrl={callbackUrl} error={error} notice={reason} operatorHint={operatorHint()} />
      {/* Only when the issuer offers recovery (its discovery lists password_reset_endpoint). */}
      {(await recoveryOffered()) && (
        <p>
          <Link href="/forgot-password">Forgot password?</Link>
        </p>
      )}
    </PageFrame>
  );
}
