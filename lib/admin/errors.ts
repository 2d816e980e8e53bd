/**
 * A refusal with a message for the operator: the input breaks a rule, or names something that
 * does not exist. Nothing was written. The CLI prints it and exits with status 1; a console
 * would show it as is (it never holds a secret or an internal detail).
 */
export class AdminError extends Error {}

/** A change that names nothing to change. */
export class NothingToChange extends AdminError {
  constructor() {
    super("Nothing to change: give at least one option");
  }
}

/** A client that is not (or no longer) in its workspace. */
export class NoSuchClient extends AdminError {
  constructor(clientId: string, workspace: string) {
    super(`No client ${clientId} in ${workspace}`);
  }
}
