import type { TwoStepStatus } from "@/lib/login/account-mfa.ts";
import { NewRecoveryCodesForm, SetUpForm, TurnOffForm } from "./two-step-forms.tsx";

/** The account page's two-step verification section. */
export function TwoStep({ status }: { status: TwoStepStatus }) {
  return (
    <section className="two-step" aria-labelledby="two-step-title">
      <h2 id="two-step-title">Two-step verification</h2>
      {status.kind === "on" ? (
        <>
          <p className="status on" data-testid="two-step-status">
            Two-step verification is on. Signing in asks for a code from your authenticator app.
          </p>
          <details>
            <summary>New recovery codes</summary>
            <NewRecoveryCodesForm />
          </details>
          <details>
            <summary>Turn off two-step verification</summary>
            <TurnOffForm />
          </details>
        </>
      ) : status.kind === "off" ? (
        <>
          <p className="status" data-testid="two-step-status">
            Two-step verification is off. Add a code from an authenticator app to your sign-in.
          </p>
          <SetUpForm />
        </>
      ) : (
        <p className="status" data-testid="two-step-status">
          The state of two-step verification cannot be read right now.
        </p>
      )}
    </section>
  );
}
