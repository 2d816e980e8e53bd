// Plain HTML forms posted to /account/submit (lib/login/account-forms.ts), like the account
// page's other forms: they work without script, and the page they come back to says what happened.

import { Action, Message } from "./form-parts.tsx";

export function SetUpForm({ error }: { error?: string }) {
  return (
    <form action="/account/submit" method="post" aria-describedby={error ? "set-up-message" : undefined}>
      <Action name="start_two_step" />
      <Message error={error} id="set-up-message" />
      <label htmlFor="set-up-password">Your password</label>
      <input id="set-up-password" name="password" type="password" autoComplete="current-password" required />
      <button type="submit">Set up two-step verification</button>
    </form>
  );
}

export function ConfirmEnrolmentForm({ error }: { error?: string }) {
  return (
    <form action="/account/submit" method="post" aria-describedby={error ? "confirm-message" : undefined}>
      <Action name="confirm_two_step" />
      <Message error={error} id="confirm-message" />
      <label htmlFor="otp">Authentication code</label>
      <input id="otp" name="otp" autoComplete="one-time-code" inputMode="numeric" maxLength={7} spellCheck={false} required aria-describedby="otp-hint" />
      <p id="otp-hint" className="hint">
        The 6-digit code your authenticator app shows now.
      </p>
      <button type="submit">Turn on</button>
    </form>
  );
}

function ProofField({ id }: { id: string }) {
  return (
    <>
      <label htmlFor={id}>Authentication code or password</label>
      {/* The password fills it, from a password manager too; a code is typed. */}
      <input id={id} name="proof" type="password" autoComplete="current-password" spellCheck={false} required />
    </>
  );
}

export function TurnOffForm({ error }: { error?: string }) {
  return (
    <form action="/account/submit" method="post" aria-describedby={error ? "turn-off-message" : undefined}>
      <Action name="turn_off_two_step" />
      <Message error={error} id="turn-off-message" />
      <ProofField id="turn-off-proof" />
      <button type="submit" className="danger">
        Turn off two-step verification
      </button>
    </form>
  );
}

export function NewRecoveryCodesForm({ error }: { error?: string }) {
  return (
    <form action="/account/submit" method="post" aria-describedby={error ? "codes-message" : undefined}>
      <Action name="new_recovery_codes" />
      <Message error={error} id="codes-message" />
      <p className="hint">The codes you have now stop working.</p>
      <ProofField id="codes-proof" />
      <button type="submit" className="secondary">
        Get new recovery codes
      </button>
    </form>
  );
}
