"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState, type FormEvent, type ReactNode } from "react";
import { validatedCallbackPath } from "@/lib/login/callback-url.ts";
import { NEXT_STEP, signInMessage } from "@/lib/login/messages.ts";

/**
 * One step of a sign-in after the password (a code, an enrolment, the recovery codes): the
 * fields are rendered on the server as `children`; this sends them as a credentials sign-in. The
 * step itself lives in a sealed httpOnly cookie: nothing here sees the `mfa_token`.
 */
export function StepForm({ callbackUrl, submitLabel, notice, children }: { callbackUrl: string; submitLabel: string; notice?: string; children: ReactNode }) {
  const router = useRouter();
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const fields: Record<string, string> = {};
    for (const [name, value] of new FormData(form)) if (typeof value === "string") fields[name] = value;
    setBusy(true);
    setError(undefined);
    const result = await signIn("credentials", { ...fields, redirect: false, callbackUrl }).catch(() => undefined);
    if (result?.ok && !result.error) {
      router.replace(validatedCallbackPath(result.url));
      router.refresh();
      return;
    }
    const code = result ? result.error : "unreachable";
    if (code === NEXT_STEP) {
      router.refresh();
    } else if (code === "mfa_expired") {
      router.replace(`/login?${new URLSearchParams({ reason: "mfa_expired", callbackUrl })}`);
      return;
    } else {
      form.reset();
      setError(signInMessage(code));
      form.querySelector<HTMLInputElement>("input:not([type=hidden])")?.focus();
    }
    setBusy(false);
  }

  return (
    <form method="post" action="/login/submit" onSubmit={submit} aria-describedby={error ? "login-message" : undefined}>
      <div id="login-message" role="alert" aria-live="assertive" data-testid="login-message" className={error ? "message" : "message empty"}>
        {error}
      </div>
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      {children}
      <button type="submit" disabled={busy} aria-busy={busy}>
        {submitLabel}
      </button>
    </form>
  );
}
