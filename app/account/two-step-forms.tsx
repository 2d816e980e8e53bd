"use client";

import { useActionState } from "react";
import type { AccountFormState } from "@/lib/login/account-mfa.ts";
import { confirmEnrolmentAction, finishEnrolmentAction, newRecoveryCodesAction, startEnrolmentAction, turnOffAction } from "./actions.ts";
import { RecoveryCodes } from "./recovery-codes.tsx";

function Message({ state, id }: { state: AccountFormState; id: string }) {
  return (
    <div id={id} role="alert" aria-live="assertive" className={state.error ? "message" : "message empty"}>
      {state.error}
    </div>
  );
}

export function SetUpForm() {
  const [state, action, pending] = useActionState(startEnrolmentAction, {});
  return (
    <form action={action}>
      <Message state={state} id="set-up-message" />
      <button type="submit" disabled={pending} aria-busy={pending}>
        Set up two-step verification
      </button>
    </form>
  );
}

export function ConfirmEnrolmentForm() {
  const [state, action, pending] = useActionState(confirmEnrolmentAction, {});
  if (state.recoveryCodes) {
    return (
      <>
        <p className="status on" data-testid="two-step-status">
          Two-step verification is on.
        </p>
        <RecoveryCodes codes={state.recoveryCodes} />
        <form action={finishEnrolmentAction}>
          <button type="submit">Done</button>
        </form>
      </>
    );
  }
  return (
    <form action={action} aria-describedby={state.error ? "confirm-message" : undefined}>
      <Message state={state} id="confirm-message" />
      <label htmlFor="otp">Authentication code</label>
      <input id="otp" name="otp" autoComplete="one-time-code" inputMode="numeric" maxLength={7} spellCheck={false} required aria-describedby="otp-hint" />
      <p id="otp-hint" className="hint">
        The 6-digit code your authenticator app shows now.
      </p>
      <button type="submit" disabled={pending} aria-busy={pending}>
        Turn on
      </button>
    </form>
  );
}

function ProofField({ id }: { id: string }) {
  return (
    <>
      <label htmlFor={id}>Authentication code or password</label>
      <input id={id} name="proof" type="password" autoComplete="off" spellCheck={false} required />
    </>
  );
}

export function TurnOffForm() {
  const [state, action, pending] = useActionState(turnOffAction, {});
  return (
    <form action={action} aria-describedby={state.error ? "turn-off-message" : undefined}>
      <Message state={state} id="turn-off-message" />
      <ProofField id="turn-off-proof" />
      <button type="submit" className="danger" disabled={pending} aria-busy={pending}>
        Turn off two-step verification
      </button>
    </form>
  );
}

export function NewRecoveryCodesForm() {
  const [state, action, pending] = useActionState(newRecoveryCodesAction, {});
  if (state.recoveryCodes) return <RecoveryCodes codes={state.recoveryCodes} />;
  return (
    <form action={action} aria-describedby={state.error ? "codes-message" : undefined}>
      <Message state={state} id="codes-message" />
      <p className="hint">The codes you have now stop working.</p>
      <ProofField id="codes-proof" />
      <button type="submit" className="secondary" disabled={pending} aria-busy={pending}>
        Get new recovery codes
      </button>
    </form>
  );
}
