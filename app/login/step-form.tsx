"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState, type FormEvent, type ReactNode } from "react";
import { validatedCallbackPath } from "@/lib/login/callback-url.ts";
import { NEXT_STEP } from "@/lib/login/messages.ts";
import { SignInMessage } from "@/lib/login/ui/sign-in-message.tsx";
import { useFocusAfterRender } from "@/lib/login/ui/focus-after-render.ts";

/**
 * One step of a sign-in after the password (a code, an enrolment, the recovery codes): the
 * fields are rendered on the server as `children`; this sends them as a credentials sign-in. The
 * step itself lives in a sealed httpOnly cookie: nothing here sees the `mfa_token`.
 */
export function StepForm({ callbackUrl, submitLabel, notice, children }: { callbackUrl: string; submitLabel: string; notice?: string; children: ReactNode }) {
  const router = useRouter();
  const [code, setCode] = useState<string | undefined>();
  const [noticeShown, setNoticeShown] = useState(true);
  const [busy, setBusy] = useState(false);
  const focusAfterRender = useFocusAfterRender();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    const fields: Record<string, string> = {};
    for (const [name, value] of new FormData(form)) if (typeof value === "string") fields[name] = value;
    setBusy(true);
    setCode(undefined);
    setNoticeShown(false);
    const result = await signIn("credentials", { ...fields, redirect: false, callbackUrl }).catch(() => undefined);
    if (result?.ok && !result.error) {
      router.replace(validatedCallbackPath(result.url));
      router.refresh();
      return;
    }
    const failure = (result ? result.error : null) ?? "unreachable";
    if (failure === NEXT_STEP) {
      router.refresh();
    } else if (failure === "mfa_expired") {
      router.replace(`/login?${new URLSearchParams({ reason: "mfa_expired", callbackUrl })}`);
      return;
    } else if (failure === "otp_locked") {
      // The app's codes are refused until a recovery code passes: its form, saying why.
      router.replace(`/login?${new URLSearchParams({ method: "recovery-code", error: failure, callbackUrl })}`);
      return;
    } else {
      // The recovery code's form says so of a recovery code (the server has one code for both).
      const recoveryCode = form.querySelector("input[name=recoveryCode]") !== null;
      form.reset();
      setCode(failure === "invalid_code" && recoveryCode ? "invalid_recovery_code" : failure);
      // After the fieldset is enabled again (a disabled field cannot take focus).
      focusAfterRender(() => form.querySelector<HTMLInputElement>("input:not([type=hidden])"));
    }
    setBusy(false);
  }

  const shownNotice = noticeShown ? notice : undefined;
  return (
    <form method="post" action="/login/submit" onSubmit={submit} aria-describedby={code || shownNotice ? "login-message" : undefined} aria-busy={busy}>
      {shownNotice && !code && <SignInMessage notice={shownNotice} />}
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      <fieldset disabled={busy}>
        {children}
        <button type="submit">{submitLabel}</button>
      </fieldset>
      {!(shownNotice && !code) && <SignInMessage code={code} />}
    </form>
  );
}
