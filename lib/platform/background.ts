import { logger, type Logger } from "@/lib/platform/logger.ts";
import { messageOf } from "@/lib/platform/error-message.ts";

/** Background jobs one process runs at most at once; past it a new one is dropped (and logged). */
export const MAX_BACKGROUND_JOBS = 100;

interface State {
  jobs: Set<Promise<void>>;
  /** backgroundSettled, kept here for a process's shutdown (lib/platform/leftover-work.ts), which does not import this module. */
  settled(): Promise<void>;
}

const KEY = Symbol.for("ropc.background");
const state = ((globalThis as Record<symbol, unknown>)[KEY] ??= newState()) as State;

function newState(): State {
  const jobs = new Set<Promise<void>>();
  return {
    jobs,
    async settled() {
      while (jobs.size > 0) await Promise.all([...jobs]);
    },
  };
}

/**
 * Runs `job` after the current request has been answered, so that its time never shows in the
 * answer (password recovery: whether a user exists must not be read from how long the server
 * took). A failure is logged under `name`. Returns false when too many jobs are under way and
 * this one was dropped: under a flood, a lost reset mail is the price of a bounded process.
 */
export function inBackground(name: string, job: () => Promise<void>, log: Logger = logger): boolean {
  if (state.jobs.size >= MAX_BACKGROUND_JOBS) {
    log.warn({ event: "background.dropped", job: name }, "too many background jobs under way: one was dropped");
    return false;
  }
  const run = new Promise<void>((resolve) => setImmediate(resolve))
    .then(job)
    .catch((err: unknown) => log.error({ event: "background.failed", job: name, err: messageOf(err) }, `${name} failed`))
    .finally(() => state.jobs.delete(run));
  state.jobs.add(run);
  return true;
}

/** Resolves when every background job under way (and any it started) has ended: for tests and shutdown. */
export function backgroundSettled(): Promise<void> {
  return state.settled();
}
