import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import { redirect } from "next/navigation";
import { currentSession, describeToken } from "@/lib/login/current-session.ts";
import { SignOutButton } from "./sign-out-button.tsx";
import { TokenViewer } from "./token-viewer.tsx";
import { twoStepStatus } from "@/lib/login/account-mfa.ts";
import { TwoStep } from "./two-step.tsx";

export const metadata = { title: "Your account" };

export default async function AccountPage() {
  const session = await currentSession();
  if (!session) redirect("/login");
  const access = describeToken(session.tokens.accessToken, session.tokens.expiresAt);
  const id = describeToken(session.tokens.idToken);
  return (
    <PageFrame width="wide">
      <header className="account-header">
        <div>
          <h1>{session.name ?? "Your account"}</h1>
          <p data-testid="account-email">{session.email}</p>
        </div>
        <SignOutButton />
      </header>
      <TwoStep status={await twoStepStatus(session.tokens.accessToken)} />
      <TokenViewer title="Access token" testId="access-token" token={access} />
      <TokenViewer title="ID token" testId="id-token" token={id} />
    </PageFrame>
  );
}
