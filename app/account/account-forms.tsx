"use client";

import { useActionState } from "react";
import type { PasswordFormState, ProfileFormState } from "@/lib/login/account-page.ts";
import { changePasswordAction, endOtherSessionsAction, endSessionAction, saveProfileAction } from "./actions.ts";

function Message({ error, id }: { error?: string; id: string }) {
  return (
    <div id={id} role="alert" aria-live="assertive" className={error ? "message" : "message empty"}>
      {error}
    </div>
  );
}

/** Current password, then the new one twice; the rules are on the page before any submit. */
export function ChangePasswordForm({ rulesId }: { rulesId: string }) {
  const [state, action, pending] = useActionState<PasswordFormState, FormData>(changePasswordAction, {});
  const invalid = (field: PasswordFormState["field"]) => (state.field === field ? true : undefined);
  return (
    <form action={action} aria-describedby={state.error ? "password-message" : undefined}>
      <Message error={state.error} id="password-message" />
      <label htmlFor="current-password">Current password</label>
      <input id="current-password" name="current_password" type="password" autoComplete="current-password" required aria-invalid={invalid("current")} />
      <label htmlFor="new-password">New password</label>
      <input
        id="new-password"
        name="new_password"
        type="password"
        autoComplete="new-password"
        required
        aria-describedby={rulesId}
        aria-invalid={invalid("new")}
      />
      <label htmlFor="confirm-password">New password again</label>
      <input id="confirm-password" name="confirm_password" type="password" autoComplete="new-password" required aria-invalid={invalid("confirm")} />
      <button type="submit" disabled={pending} aria-busy={pending}>
        Change password
      </button>
    </form>
  );
}

/** "Sign out" on one row of the session list. */
export function EndSessionForm({ id, device }: { id: string; device: string }) {
  const [state, action, pending] = useActionState(endSessionAction, {});
  return (
    <form action={action} className="row-action">
      <input type="hidden" name="session" value={id} />
      <button type="submit" className="secondary" disabled={pending} aria-busy={pending} aria-label={`Sign out ${device}`}>
        Sign out
      </button>
      {state.error ? <Message error={state.error} id={`end-${id}-message`} /> : null}
    </form>
  );
}

export function EndOtherSessionsForm() {
  const [state, action, pending] = useActionState(endOtherSessionsAction, {});
  return (
    <form action={action} className="section-action">
      <Message error={state.error} id="end-others-message" />
      <button type="submit" className="danger" disabled={pending} aria-busy={pending}>
        Sign out of all other sessions
      </button>
    </form>
  );
}

/** Name and email; a new email is confirmed by a link sent to it before it counts. */
export function ProfileForm({ name, email }: { name: string; email: string }) {
  const [state, action, pending] = useActionState<ProfileFormState, FormData>(saveProfileAction, {});
  return (
    <form action={action} aria-describedby={state.error ? "profile-message" : undefined}>
      <Message error={state.error} id="profile-message" />
      <label htmlFor="profile-name">Name</label>
      <input id="profile-name" name="name" autoComplete="name" maxLength={200} defaultValue={name} aria-invalid={state.field === "name" ? true : undefined} />
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
        aria-invalid={state.field === "email" ? true : undefined}
      />
      <p id="profile-email-hint" className="hint">
        A new address is used once you follow the link we send to it.
      </p>
      <button type="submit" disabled={pending} aria-busy={pending}>
        Save
      </button>
    </form>
  );
}
