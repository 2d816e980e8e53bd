"use client";

import { useEffect, useState, type KeyboardEvent, type RefObject } from "react";

/**
 * A password input with its label, a "Show password" toggle and a Caps Lock hint. Without script
 * it is a plain password input: the toggle appears only once the page can run it.
 */
export function PasswordField({
  id = "password",
  name = "password",
  label = "Password",
  autoComplete = "current-password",
  inputRef,
  describedBy,
  invalid = false,
}: {
  id?: string;
  name?: string;
  label?: string;
  autoComplete?: "current-password" | "new-password";
  inputRef?: RefObject<HTMLInputElement | null>;
  /** More of what describes it: the form's message. */
  describedBy?: string;
  /** The form's message says it is wrong. */
  invalid?: boolean;
}) {
  const [scripted, setScripted] = useState(false);
  const [shown, setShown] = useState(false);
  const [capsLock, setCapsLock] = useState(false);
  useEffect(() => setScripted(true), []);
  const watchCapsLock = (event: KeyboardEvent<HTMLInputElement>) => setCapsLock(event.getModifierState("CapsLock"));
  const hintId = `${id}-caps-lock`;
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <div className="password-field">
        <input
          id={id}
          name={name}
          type={shown ? "text" : "password"}
          autoComplete={autoComplete}
          autoCapitalize="none"
          spellCheck={false}
          required
          ref={inputRef}
          aria-describedby={describedBy ? `${hintId} ${describedBy}` : hintId}
          aria-invalid={invalid || undefined}
          onKeyDown={watchCapsLock}
          onKeyUp={watchCapsLock}
          onBlur={() => setCapsLock(false)}
        />
        {scripted && (
          // Named by its text ("Show password"), not aria-label: the field alone answers to "Password".
          <button type="button" className="reveal" aria-controls={id} onClick={() => setShown(!shown)}>
            {shown ? "Hide" : "Show"}
            <span className="visually-hidden"> password</span>
          </button>
        )}
      </div>
      <p id={hintId} className="hint caps-lock" aria-live="polite" data-testid="caps-lock-hint">
        {capsLock ? "Caps Lock is on" : ""}
      </p>
    </>
  );
}
