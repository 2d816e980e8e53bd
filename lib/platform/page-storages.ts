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
 * Not for a process that exports traces: OpenTelemetry's context lives in a storage of its own,
 * which its spans need at every request.
 */
export interface PageStorages {
  /** The server is up: storages enabled at its start (Next's) go at the first quiet moment too. */
  ready(): void;
  /** A request handed to Next: `handled` is what its handler returned. */
  track(handled: unknown, res: ServerResponse): void;
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

/** Undefined where Node has no such hooks (Node 24's AsyncContextFrame: storages cost nothing idle). */
export function idlePageStorages(quietMs = 1000): PageStorages | undefined {
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
    if (pages > 0) return;
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
      void Promise.resolve(handled).then(done, done);
      if (res.closed) done();
      else res.once("close", done);
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
