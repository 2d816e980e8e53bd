import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import { cookies } from "next/headers";
import Link from "next/link";
import { redirect } from "next/navigation";
import { currentSession } from "@/lib/login/current-session.ts";
import { enrolmentCookieName, openEnrolment } from "@/lib/login/account-mfa.ts";
import { accountError } from "@/lib/login/account-page.ts";
import { passwordRules } from "@/lib/login/account-api.ts";
import { qrCodeDataUrl } from "@/lib/login/qr-code.ts";
import { Enrolment } from "../../login/second-step.tsx";
import { ConfirmEnrolmentForm } from "../two-step-forms.tsx";

export const metadata = { title: "Set up two-step verification" };

export default async function EnrolmentPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await currentSession();
  if (!session) redirect("/login");
  const enrolment = await openEnrolment((await cookies()).get(enrolmentCookieName())?.value, session.sub ?? "");
  if (!enrolment) redirect("/account");
  return (
    <PageFrame>
      <h1>Set up two-step verification</h1>
      <p>Scan the QR code with an authenticator app (Google Authenticator, 1Password, Authy…), then enter the code it shows.</p>
      <Enrolment qrCode={await qrCodeDataUrl(enrolment.barcodeUri)} secret={enrolment.secret} />
      <ConfirmEnrolmentForm error={accountError((await searchParams).error, await passwordRules())} />
      <p className="switch">
        <Link href="/account">Cancel</Link>
      </p>
    </PageFrame>
  );
}
