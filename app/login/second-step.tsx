import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import type { MfaStep } from "@/lib/login/mfa-sign-in.ts";
import { groupedSecret, qrCodeDataUrl } from "@/lib/login/qr-code.ts";
import { RecoveryCodes } from "../account/recovery-codes.tsx";
import { StepForm } from "./step-form.tsx";

export function CodeField() {
  return (
    <>
      <label htmlFor="otp">Authentication code</label>
      <input
        id="otp"
        name="otp"
        autoComplete="one-time-code"
        inputMode="numeric"
        maxLength={7}
        spellCheck={false}
        required
        autoFocus
        aria-describedby="otp-hint login-message"
      />
      <p id="otp-hint" className="hint">
        The 6-digit code your authenticator app shows now.
      </p>
    </>
  );
}

function StartAgain({ callbackUrl }: { callbackUrl: string }) {
  return (
    <form method="post" action="/login/cancel" className="start-again">
      <input type="hidden" name="callbackUrl" value={callbackUrl} />
      <button type="submit" className="link">
        Cancel and start again
      </button>
    </form>
  );
}

/** The step of a sign-in after its password, as the sealed cookie says. */
export async function SecondStep({
  step,
  callbackUrl,
  useRecoveryCode,
  notice,
}: {
  step: MfaStep;
  callbackUrl: string;
  useRecoveryCode: boolean;
  /** What the last submit without script came back with (lib/login/form-sign-in.ts). */
  notice?: string;
}) {
  if (step.stage === "code") {
    const other = new URLSearchParams({ callbackUrl, ...(useRecoveryCode ? {} : { method: "recovery-code" }) });
    return (
      <PageFrame>
        <h1>Two-step verification</h1>
        {/* Keyed: a switch of form (a link, or codes locked) starts the new one afresh, not busy. */}
        {useRecoveryCode ? (
          <StepForm key="recovery-code" callbackUrl={callbackUrl} notice={notice} submitLabel="Verify">
            <label htmlFor="recovery-code">Recovery code</label>
            <input
              id="recovery-code"
              name="recoveryCode"
              autoComplete="off"
              autoCapitalize="characters"
              spellCheck={false}
              required
              autoFocus
              aria-describedby="recovery-hint login-message"
            />
            <p id="recovery-hint" className="hint">
              One of the codes you saved when you set up two-step verification. Each works once. Lost them, or used them all? Your administrator can turn off
              two-step verification for your account.
            </p>
          </StepForm>
        ) : (
          <StepForm key="otp" callbackUrl={callbackUrl} notice={notice} submitLabel="Verify">
            <CodeField />
          </StepForm>
        )}
        <p className="switch">
          <a href={`/login?${other}`}>{useRecoveryCode ? "Use your authenticator app instead" : "Use a recovery code instead"}</a>
        </p>
        <StartAgain callbackUrl={callbackUrl} />
      </PageFrame>
    );
  }
  if (step.stage === "enrol") {
    const { secret, barcodeUri } = step.enrolment;
    return (
      <PageFrame>
        <h1>Set up two-step verification</h1>
        <p>This account needs a second step when you sign in. Scan the QR code with an authenticator app, then enter the code it shows.</p>
        <Enrolment qrCode={await qrCodeDataUrl(barcodeUri)} secret={secret} />
        <StepForm callbackUrl={callbackUrl} notice={notice} submitLabel="Verify and continue">
          <CodeField />
        </StepForm>
        <StartAgain callbackUrl={callbackUrl} />
      </PageFrame>
    );
  }
  return (
    <PageFrame>
      <h1>Two-step verification is on</h1>
      <RecoveryCodes codes={step.recoveryCodes} />
      <StepForm callbackUrl={callbackUrl} notice={notice} submitLabel="I have saved them, continue">
        <input type="hidden" name="done" value="1" />
      </StepForm>
    </PageFrame>
  );
}

/** The QR code and, for typing by hand, the secret. */
export function Enrolment({ qrCode, secret }: { qrCode: string; secret: string }) {
  return (
    <div className="enrolment">
      {/* eslint-disable-next-line @next/next/no-img-element -- a data: URL made on the server: nothing for next/image to optimise */}
      <img src={qrCode} alt="QR code to scan with your authenticator app" width={176} height={176} data-testid="qr-code" />
      <div>
        <p className="hint">Can&apos;t scan it? Enter this key in the app instead:</p>
        <code className="secret" data-testid="totp-secret">
          {groupedSecret(secret)}
        </code>
      </div>
    </div>
  );
}
