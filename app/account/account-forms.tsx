// Plain HTML forms posted to /account/submit (lib/login/account-forms.ts): they work without
// script, and the page they come back to says what happened.

import { Action, Message } from "./form-parts.tsx";

/**
 * A current code from the authenticator app, for a session that did not pass two-step
 * verification (its sign-in came before the user turned it on): the password alone does not
 * change the password or the address then.
 */
function CodeField({ id, optional = false }: { id: string; optional?: boolean }) {
  return (
    <>
      <label htmlFor={id}>Authentication code</label>
      <input
        id={id}
        name="otp"
        autoComplete="one-time-code"
        inputMode="numeric"
        maxLength={7}
        spellCheck={false}
        required={!optional}
        aria-describedby={`${id}-hint`}
      />
      <p id={`${id}-hint`} className="hint">
        The 6-digit code your authenticator app shows now: you signed in without one this time.{optional ? " Needed only to change your email address." : ""}
      </p>
    </>
  );
}

/** Current password (and a code when the session needs one), then the new one twice; the rules are on the page before any submit. */
export function ChangePasswordForm({ rulesId, error, askCode = false }: { rulesId: string; error?: string; askCode?: boolean }) {
  return (
    <form action="/account/submit" method="post" aria-describedby={error ? "password-message" : undefined}>
      <Action name="change_password" />
      <Message error={error} id="password-message" />
      <label htmlFor="current-password">Current password</label>
      <input id="current-password" name="current_password" type="password" autoComplete="current-password" required />
      {askCode ? <CodeField id="password-otp" /> : null}
      <label htmlFor="new-password">New password</label>
      <input id="new-password" name="new_password" type="password" autoComplete="new-password" required aria-describedby={rulesId} />
      <label htmlFor="confirm-password">New password again</label>
      <input id="confirm-password" name="confirm_password" type="password" autoComplete="new-password" required />
      <button type="submit">Change password</button>
    </form>
  );
}

/** Name and email; a new email is confirmed by a link sent to it before it counts. */
export function ProfileForm({ name, email, error, askCode = false }: { name: string; email: string; error?: string; askCode?: boolean }) {
  return (
    <form action="/account/submit" method="post" aria-describedby={error ? "profile-message" : undefined}>
      <Action name="save_profile" />
      <Message error={error} id="profile-message" />
      <label htmlFor="profile-name">Name</label>
      <input id="profile-name" name="name" autoComplete="name" maxLength={200} defaultValue={name} />
      <label htmlFor="profile-email">Email</label>
      <input
        id="profile-email"
        name="email"
        type="email"
        autoComplete="email"
        maxLength={254}
        required
        defaultValue={email}
        aria-describedby="profile-email-hint"
      />
      <p id="profile-email-hint" className="hint">
        A new address is used once you follow the link we send to it.
      </p>
      <label htmlFor="profile-password">Your password</label>
      <input id="profile-password" name="current_password" type="password" autoComplete="current-password" aria-describedby="profile-password-hint" />
      <p id="profile-password-hint" className="hint">
        Needed only to change your email address.
      </p>
      {askCode ? <CodeField id="profile-otp" optional /> : null}
      <button type="submit">Save</button>
    </form>
  );
}

/** "Cancel change" beside an address that waits for its confirmation. */
export function CancelEmailChangeForm() {
  return (
    <form action="/account/submit" method="post" className="row-action">
      <Action name="cancel_email_change" />
      <button type="submit" className="secondary">
        Cancel change
      </button>
    </form>
  );
}

/** "Sign out" on one row of the session list. */
export function EndSessionForm({ id, device }: { id: string; device: string }) {
  return (
    <form action="/account/submit" method="post" className="row-action">
      <Action name="end_session" />
      <input type="hidden" name="session" value={id} />
      <button type="submit" className="secondary" aria-label={`Sign out ${device}`}>
        Sign out
      </button>
    </form>
  );
}

export function EndOtherSessionsForm({ error }: { error?: string }) {
  return (
    <form action="/account/submit" method="post" className="section-action">
      <Action name="end_other_sessions" />
      <Message error={error} id="sessions-message" />
      <button type="submit" className="danger">
        Sign out of all other sessions
      </button>
    </form>
  );
}
