import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { currentSession, describeToken } from "@/lib/login/current-session.ts";
import { getProfile, hasAccountApi, listSessions, passwordRules, recentActivity } from "@/lib/login/account-api.ts";
import { accountError, accountNotice, asksForCode, rulesInWords } from "@/lib/login/account-page.ts";
import { openRecoveryCodes, RECOVERY_CODES_HEADER, twoStepStatus } from "@/lib/login/account-mfa.ts";
import { TokenViewer } from "./token-viewer.tsx";
import { TwoStep } from "./two-step.tsx";
import { Sessions } from "./sessions.tsx";
import { Activity } from "./activity.tsx";
import { CancelEmailChangeForm, ChangePasswordForm, ProfileForm } from "./account-forms.tsx";

export const metadata = { title: "Your account" };

const orNull = <T,>(work: Promise<T>): Promise<T | null> => work.catch(() => null);

export default async function AccountPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const session = await currentSession();
  if (!session) redirect("/login");
  const token = session.tokens.accessToken;
  const query = await searchParams;
  const notice = accountNotice(query.notice);
  const api = await hasAccountApi();
  // Recovery codes to show once: the proxy took them off their sealed cookie for this load only.
  const recoveryCodes = await openRecoveryCodes((await headers()).get(RECOVERY_CODES_HEADER), session.sub ?? "");
  const [profile, twoStep, sessions, activity, rules] = await Promise.all([
    api ? orNull(getProfile(token)) : null,
    twoStepStatus(token),
    api ? orNull(listSessions(token)) : null,
    api ? orNull(recentActivity(token)) : null,
    passwordRules(),
  ]);
  // An error comes back for one form: its section shows it, opened.
  const errorFor = (form: string) => (query.form === form ? accountError(query.error, rules) : undefined);
  // A session from before two-step verification was turned on: a new password or address needs a code too.
  const idToken = describeToken(session.tokens.idToken);
  const amr = idToken.kind === "jwt" ? idToken.claims.amr : undefined;
  const passedCode = Array.isArray(amr) && amr.includes("mfa");
  const askCode = (form: string) => asksForCode(twoStep.kind === "on", passedCode, query.error, query.form === form);
  return (
    <PageFrame width="wide" className="account">
      <header className="account-header">
        <div>
          <h1>{(profile ? profile.name : session.name) ?? "Your account"}</h1>
          <p data-testid="account-email">{profile ? profile.email : session.email}</p>
        </div>
        <form method="post" action="/account/sign-out">
          <button type="submit">Sign out</button>
        </form>
      </header>
      {errorFor("sign_out") ? (
        <p className="message" role="alert" data-testid="sign-out-message">
          {errorFor("sign_out")}
        </p>
      ) : null}
      {notice ? (
        <p className="message notice" role="status" data-testid="account-notice">
          {notice}
        </p>
      ) : null}
      {profile ? (
        <section className="panel" id="details" aria-labelledby="details-title">
          <h2 id="details-title">Your details</h2>
          <dl className="details">
            <dt>Name</dt>
            <dd data-testid="profile-name">{profile.name ?? "Not set"}</dd>
            <dt>Email</dt>
            <dd data-testid="profile-email">
              {profile.email ?? "Not set"}
              {profile.pendingEmail ? (
                <span className="pending">
                  <span className="meta">Waiting for you to confirm {profile.pendingEmail}: follow the link we sent there.</span>
                  {/* Cancelling sends the current address again: there is none to send for a first one. */}
                  {profile.email ? <CancelEmailChangeForm /> : null}
                </span>
              ) : null}
            </dd>
            <dt>Username</dt>
            <dd>{profile.username}</dd>
          </dl>
          <details open={errorFor("profile") !== undefined}>
            <summary>Edit your details</summary>
            <ProfileForm name={profile.name ?? ""} email={profile.email ?? ""} error={errorFor("profile")} askCode={askCode("profile")} />
          </details>
        </section>
      ) : null}
      {api ? (
        <section className="panel" id="password" aria-labelledby="password-title">
          <h2 id="password-title">Password</h2>
          <details open={errorFor("password") !== undefined}>
            <summary>Change password</summary>
            <ul className="rules" id="password-rules">
              {rulesInWords(rules).map((rule) => (
                <li key={rule}>{rule}</li>
              ))}
            </ul>
            <ChangePasswordForm rulesId="password-rules" error={errorFor("password")} askCode={askCode("password")} />
          </details>
        </section>
      ) : null}
      <TwoStep status={twoStep} recoveryCodes={recoveryCodes} errorFor={errorFor} />
      {api ? <Sessions sessions={sessions} error={errorFor("sessions")} /> : null}
      {api ? <Activity events={activity} /> : null}
      <details className="developer">
        <summary>Developer details</summary>
        <p className="hint">What this app holds for your session: the decoded access and ID tokens.</p>
        <TokenViewer title="Access token" testId="access-token" token={describeToken(token, session.tokens.expiresAt)} />
        <TokenViewer title="ID token" testId="id-token" token={idToken} />
      </details>
    </PageFrame>
  );
}
