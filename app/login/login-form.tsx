"use client";

import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useRef, useState, type FormEvent } from "react";
import { validatedCallbackPath } from "@/lib/login/callback-url.ts";
import { NEXT_STEP, signInMessage } from "@/lib/login/messages.ts";

/** `operatorHint`: what the login app's self-check found wrong; the page passes one in development only. */
export function LoginForm({ callbackUrl, notice, operatorHint }: { callbackUrl: string; notice?: string; operatorHint?: string }) {
  const router = useRouter();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const passwordInput = useRef<HTMLInputElement>(null);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const result = await signIn("credentials", { redirect: false, username, password, callbackUrl }).catch(() => undefined);
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
    setPassword("");
    const code = result ? result.error : "unreachable";
    setError(signInMessage(code));
    // In development, the server has just checked its settings again (lib/login/self-check.ts):
    // render the page again to show what it found.
    if (process.env.NODE_ENV === "development" && (code === "refused" || code === "unreachable")) router.refresh();
    passwordInput.current?.focus();
  }

  const message = error ?? notice;
  return (
    // Without script the browser posts the form to the server, which signs in the same way.
    <form method="post" action="/login/submit" onSubmit={submit} aria-describedby={message ? "login-message" : undefined}>
      <div id="login-message" role="alert" aria-live="assertive" data-testid="login-message" className={message ? "message" : "message empty"}>
        {message}
      </div>
      {operatorHint && (
        <p role="note" data-testid="operator-hint" className="operator-hint">
          {operatorHint}
        </p>
      )}
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      <label htmlFor="username">Username</label>
      <input
        id="username"
        name="username"
        autoComplete="username"
        autoCapitalize="none"
        spellCheck={false}
        required
        value={username}
        onChange={(e) => setUsername(e.target.value)}
      />
      <label htmlFor="password">Password</label>
      <input
        id="password"
        name="password"
        type="password"
        autoComplete="current-password"
        required
        ref={passwordInput}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      <button type="submit" disabled={busy} aria-busy={busy}>
        Sign in
      </button>
    </form>
  );
}
