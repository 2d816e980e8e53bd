import { AsyncLocalStorage } from "node:async_hooks";
import type { ServerResponse } from "node:http";

/**
 * Node 20 and 22 carry an AsyncLocalStorage's store across promises with promise hooks, and keep
 * them on for the whole process while any storage is enabled: every promise any code makes then
 * costs a hook call. Next and React enable their storages at every page they render and never
 * disable them, so once one page had been served the authorization server's endpoints, which
 * never touch those storages, paid for the hooks until the process ended (side by side, the
 * refresh grant 14% slower; README, Performance).
 *
 * This records each storage as it is enabled. The production server reports each request it
 * hands to Next (`track`), from its start until both Next's handler has returned and the response
 * has closed; once none has been under way for `quietMs`, every storage recorded is disabled, and
 * with the last one Node turns the hooks off. The next page's first `run` enables its storages
 * again, as their first use did. A storage is disabled only while no page is under way, so no
 * render loses its store; work of Next's that outlived both its handler and its response by
 * `quietMs` would find its storages empty, as code outside a request does.
 *
 * Nothing is disabled while `keep()` says so: a process that exports traces keeps OpenTelemetry's
 * context in a storage of its own, which its spans need at every request. Nor does a page's
 * failure change: what Next's handler rejects with is passed on as it was (to the process's
 * `unhandledRejection` listeners, Next's among them).
 *
 * Next's `waitUntil` work (`after()`, background revalidation of a cached page) outlives both the
 * handler and the response: the app uses none, and page-storages.test.ts fails if it comes to.
 */
export interface PageStorages {
  /** The server is up: storages enabled at its start (Next's) go at the first quiet moment too. */
  ready(): void;
  /**
   * A request handed to Next: `handled` is what its handler returned. Returns a promise that
   * settles as `handled` does, with its value or its rejection.
   */
  track(handled: unknown, res: ServerResponse): Promise<unknown>;
  /** Requests handed to Next and not yet done. */
  readonly pages: number;
  /** Storages enabled now that the next quiet moment will disable. */
  readonly enabled: number;
  /** Puts the prototype back as it was (tests). */
  restore(): void;
}

type Storage = AsyncLocalStorage<unknown>;
interface StoragePrototype {
  _enable?: (this: Storage) => void;
}

export interface PageStorageOptions {
  /** How long no page must have been under way (ms). */
  quietMs?: number;
  /** While true, nothing is disabled. */
  keep?: () => boolean;
}

/** Undefined where Node has no such hooks (Node 24's AsyncContextFrame: storages cost nothing idle). */
export function idlePageStorages({ quietMs = 1000, keep = () => false }: PageStorageOptions = {}): PageStorages | undefined {
  const proto = AsyncLocalStorage.prototype as unknown as StoragePrototype;
  const enable = proto._enable;
  if (typeof enable !== "function" || typeof AsyncLocalStorage.prototype.disable !== "function") return undefined;
  const enabled = new Set<Storage>();
  proto._enable = function (this: Storage) {
    enabled.add(this);
    enable.call(this);
  };
  let pages = 0;
  let timer: NodeJS.Timeout | undefined;
  const quiet = () => {
    timer = undefined;
    if (pages > 0 || keep()) return;
    for (const storage of enabled) storage.disable();
    enabled.clear();
  };
  const wait = () => {
    clearTimeout(timer);
    timer = setTimeout(quiet, quietMs);
    timer.unref();
  };
  return {
    ready() {
      if (pages === 0) wait();
    },
    track(handled, res) {
      pages += 1;
      clearTimeout(timer);
      timer = undefined;
      let left = 2;
      const done = () => {
        left -= 1;
        if (left > 0) return;
        pages -= 1;
        if (pages === 0) wait();
      };
      if (res.closed) done();
      else res.once("close", done);
      return Promise.resolve(handled).then(
        (value) => (done(), value),
        (err: unknown) => {
          done();
          throw err;
        },
      );
    },
    get pages() {
      return pages;
    },
    get enabled() {
      return enabled.size;
    },
    restore() {
      clearTimeout(timer);
      proto._enable = enable;
    },
  };
}
