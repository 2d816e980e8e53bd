import type { TwoStepStatus } from "@/lib/login/account-mfa.ts";
import { NewRecoveryCodesForm, SetUpForm, TurnOffForm } from "./two-step-forms.tsx";
import { RecoveryCodes } from "./recovery-codes.tsx";

/** The account page's two-step verification section; `errorFor` is the message for one of its forms. */
export function TwoStep({
  status,
  recoveryCodes,
  errorFor,
}: {
  status: TwoStepStatus;
  recoveryCodes: string[] | null;
  errorFor: (form: string) => string | undefined;
}) {
  return (
    <section className="two-step" id="two-step" aria-labelledby="two-step-title">
      <h2 id="two-step-title">Two-step verification</h2>
      {status.kind === "on" ? (
        <>
          <p className="status on" data-testid="two-step-status">
            Two-step verification is on. Signing in asks for a code from your authenticator app.
          </p>
          {recoveryCodes ? <RecoveryCodes codes={recoveryCodes} /> : null}
          <details open={errorFor("new_codes") !== undefined}>
            <summary>New recovery codes</summary>
            <NewRecoveryCodesForm error={errorFor("new_codes")} />
          </details>
          <details open={errorFor("turn_off") !== undefined}>
            <summary>Turn off two-step verification</summary>
            <TurnOffForm error={errorFor("turn_off")} />
          </details>
        </>
      ) : status.kind === "off" ? (
        <>
          <p className="status" data-testid="two-step-status">
            Two-step verification is off. Add a code from an authenticator app to your sign-in.
          </p>
          <SetUpForm error={errorFor("set_up") ?? errorFor("enrolment")} />
        </>
      ) : (
        <p className="status" data-testid="two-step-status">
          The state of two-step verification cannot be read right now.
        </p>
      )}
    </section>
  );
}
