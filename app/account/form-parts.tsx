// What every form posted to /account/submit has: the action it names, and its message.

/** The form's error; one posted without script is focused when its page loads, and so read and scrolled to. */
export function Message({ error, id }: { error?: string; id: string }) {
  return (
    <div
      id={id}
      role="alert"
      aria-live="assertive"
      className={error ? "message" : "message empty"}
      tabIndex={error ? -1 : undefined}
      autoFocus={Boolean(error)}
    >
      {error}
    </div>
  );
}

/** Which of the account page's forms was posted (lib/login/account-forms.ts). */
export const Action = ({ name }: { name: string }) => <input type="hidden" name="action" value={name} />;
