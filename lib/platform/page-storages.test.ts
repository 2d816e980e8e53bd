import { AsyncLocalStorage, executionAsyncId } from "node:async_hooks";
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { idlePageStorages, type PageStorages } from "@/lib/platform/page-storages.ts";

const QUIET_MS = 30;

/**
 * Whether Node's promise hooks are on: with them, a promise's reaction runs under the promise's
 * own async id; without them, under none (0).
 */
function promiseHooksOn(): Promise<boolean> {
  return new Promise((resolve) => void Promise.resolve().then(() => resolve(executionAsyncId() !== 0)));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A response as the server's: `closed`, and a `close` event. */
class FakeResponse extends EventEmitter {
  closed = false;
  close() {
    this.closed = true;
    this.emit("close");
  }
}

/** A page handed to Next: its handler's promise and its response, each ended by the test (`end`: both). */
function page(pages: PageStorages) {
  let settle!: () => void;
  const handled = new Promise<void>((resolve) => (settle = resolve));
  const res = new FakeResponse();
  pages.track(handled, res as unknown as ServerResponse);
  return {
    settle,
    res,
    end() {
      settle();
      res.close();
    },
  };
}

/** Whether the hooks are on once a quiet moment (and more) has passed. */
async function hooksAfterQuiet(): Promise<boolean> {
  await sleep(QUIET_MS * 3);
  return promiseHooksOn();
}

let pages: PageStorages | undefined;
afterEach(() => {
  pages?.restore();
  pages = undefined;
});

function start(): PageStorages {
  pages = idlePageStorages(QUIET_MS);
  if (!pages) throw new Error(`Node ${process.version} has no AsyncLocalStorage hooks to turn off`);
  return pages;
}

describe("Next's storages between pages (idlePageStorages)", () => {
  it("turns Node's promise hooks off once the last page is done and a quiet moment has passed", async () => {
    const p = start();
    const storage = new AsyncLocalStorage<{ page: number }>();
    const { settle, res } = page(p);
    // A render's store reaches across its awaits.
    const seen = await storage.run({ page: 1 }, async () => {
      await sleep(1);
      return storage.getStore();
    });
    expect(seen).toEqual({ page: 1 });
    expect(await promiseHooksOn()).toBe(true);
    expect(p.enabled).toBe(1);
    settle();
    res.close();
    await sleep(QUIET_MS * 3);
    expect(p.pages).toBe(0);
    expect(p.enabled).toBe(0);
    expect(await promiseHooksOn()).toBe(false);
  });

  it("keeps them while a page's handler has not returned, or its response has not closed", async () => {
    const p = start();
    const storage = new AsyncLocalStorage<string>();
    const handlerLate = page(p);
    storage.run("render", () => undefined);
    handlerLate.res.close();
    await sleep(QUIET_MS * 3);
    expect(p.pages).toBe(1);
    expect(await promiseHooksOn()).toBe(true);
    handlerLate.settle();
    expect(await hooksAfterQuiet()).toBe(false);

    const responseLate = page(p);
    storage.run("render", () => undefined);
    responseLate.settle();
    await sleep(QUIET_MS * 3);
    expect(p.pages).toBe(1);
    expect(await promiseHooksOn()).toBe(true);
    responseLate.res.close();
    expect(await hooksAfterQuiet()).toBe(false);
  });

  it("waits for the last of overlapping pages, and for a quiet moment after it", async () => {
    const p = start();
    const storage = new AsyncLocalStorage<string>();
    const first = page(p);
    const second = page(p);
    storage.run("render", () => undefined);
    first.end();
    await sleep(QUIET_MS * 3);
    expect(p.pages).toBe(1);
    expect(await promiseHooksOn()).toBe(true);
    second.end();
    // A page that starts within the quiet moment keeps them on.
    await sleep(QUIET_MS / 3);
    const third = page(p);
    expect(await hooksAfterQuiet()).toBe(true);
    third.end();
    expect(await hooksAfterQuiet()).toBe(false);
  });

  it("gives the next page its storages back, store and all", async () => {
    const p = start();
    const storage = new AsyncLocalStorage<string>();
    const first = page(p);
    storage.run("first", () => undefined);
    first.end();
    expect(await hooksAfterQuiet()).toBe(false);
    expect(storage.getStore()).toBeUndefined();

    const next = page(p);
    const seen = await storage.run("second", async () => {
      await sleep(1);
      await Promise.resolve();
      return storage.getStore();
    });
    expect(seen).toBe("second");
    expect(await promiseHooksOn()).toBe(true);
    next.end();
    expect(await hooksAfterQuiet()).toBe(false);
  });

  it("turns off storages enabled at the server's start (Next's) once it is ready, at the first quiet moment", async () => {
    const p = start();
    new AsyncLocalStorage<string>().run("start", () => undefined);
    await sleep(QUIET_MS * 3);
    // Still starting: nothing is disabled under its feet.
    expect(await promiseHooksOn()).toBe(true);
    p.ready();
    expect(await promiseHooksOn()).toBe(true);
    await sleep(QUIET_MS * 3);
    expect(p.enabled).toBe(0);
    expect(await promiseHooksOn()).toBe(false);
  });

  it("counts a page whose response had closed before it was tracked", async () => {
    const p = start();
    const res = new FakeResponse();
    res.close();
    p.track(Promise.resolve(), res as unknown as ServerResponse);
    await sleep(QUIET_MS * 3);
    expect(p.pages).toBe(0);
  });
});
