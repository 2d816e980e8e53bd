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

/**
 * A client changed by someone else between the read a change was decided from and its write:
 * nothing was written; read it again and decide again.
 */
export class ClientChangedMeanwhile extends AdminError {
  constructor(clientId: string, workspace: string) {
    super(`Client ${clientId} in ${workspace} was changed by someone else meanwhile: nothing was changed; run the command again`);
  }
}

/** A client that is not (or no longer) in its workspace. */
export class NoSuchClient extends AdminError {
  constructor(clientId: string, workspace: string) {
    super(`No client ${clientId} in ${workspace}`);
  }
}
