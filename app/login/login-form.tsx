"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useRef, useState, type FormEvent } from "react";
import { validatedCallbackPath } from "@/lib/login/callback-url.ts";
import { NEXT_STEP } from "@/lib/login/messages.ts";
import { PasswordField } from "@/lib/login/ui/password-field.tsx";
import { SignInMessage } from "@/lib/login/ui/sign-in-message.tsx";
import { useFocusAfterRender } from "@/lib/login/ui/focus-after-render.ts";

/**
 * `error`: the code a submit without script came back with; `notice`: what the page says first
 * (signed out, session ended); `operatorHint`: what the login app's self-check found wrong (the
 * page passes one in development only).
 */
export function LoginForm({ callbackUrl, error, notice, operatorHint }: { callbackUrl: string; error?: string; notice?: string; operatorHint?: string }) {
  const router = useRouter();
  const [code, setCode] = useState(error);
  const [noticeShown, setNoticeShown] = useState(true);
  const [busy, setBusy] = useState(false);
  const passwordInput = useRef<HTMLInputElement>(null);
  const focusAfterRender = useFocusAfterRender();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string) => String(form.get(name) ?? "");
    setBusy(true);
    setCode(undefined);
    setNoticeShown(false);
    const result = await signIn("credentials", { redirect: false, username: field("username"), password: field("password"), callbackUrl }).catch(
      () => undefined,
    );
    if (result?.ok && !result.error) {
      // Where the server's redirect callback sent us, never anything the browser composed.
      router.replace(validatedCallbackPath(result.url));
      router.refresh();
      return;
    }
    if (result?.error === NEXT_STEP) {
      // A second factor: the page now renders that step (its state is in an httpOnly cookie).
      router.refresh();
      return;
    }
    setBusy(false);
    const failure = (result ? result.error : null) ?? "unreachable";
    setCode(failure);
    // In development, the server has just checked its settings again (lib/login/self-check.ts):
    // render the page again to show what it found.
    if (process.env.NODE_ENV === "development" && (failure === "refused" || failure === "unreachable")) router.refresh();
    if (passwordInput.current) {
      passwordInput.current.value = "";
      // After the fieldset is enabled again (a disabled field cannot take focus).
      focusAfterRender(() => passwordInput.current);
    }
  }

  const shownNotice = noticeShown ? notice : undefined;
  const described = code || shownNotice ? "login-message" : undefined;
  // The fields say what the message says of them: read when one is focused.
  const wrong = code === "invalid_credentials" || code === "CredentialsSignin";
  return (
    // Without script the browser posts the form to the server, which signs in the same way.
    <form method="post" action="/login/submit" onSubmit={submit} aria-describedby={described} aria-busy={busy}>
      {shownNotice && !code && <SignInMessage notice={shownNotice} />}
      {operatorHint && (
        <p role="note" data-testid="operator-hint" className="operator-hint">
          {operatorHint}
        </p>
      )}
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      {/* Locked while the sign-in is under way: what is sent is what the user sees. */}
      <fieldset disabled={busy}>
        <label htmlFor="username">Username</label>
        <input
          id="username"
          name="username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          required
          aria-describedby={described}
          aria-invalid={wrong || undefined}
          // A submit without script came back with an error: the form starts again there, and says why.
          autoFocus={error !== undefined}
        />
        <PasswordField inputRef={passwordInput} describedBy={described} invalid={wrong} />
        <button type="submit">{busy ? "Signing in…" : "Sign in"}</button>
      </fieldset>
      {!(shownNotice && !code) && <SignInMessage code={code} />}
    </form>
  );
}
