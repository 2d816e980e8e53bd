import { AsyncLocalStorage, executionAsyncId } from "node:async_hooks";
import { EventEmitter } from "node:events";
import fs from "node:fs";
import http, { type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createAppServer } from "@/lib/platform/http-server.ts";
import { logger } from "@/lib/platform/logger.ts";
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

function start(keep?: () => boolean): PageStorages {
  pages = idlePageStorages({ quietMs: QUIET_MS, keep });
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
    await p.track(Promise.resolve(), res as unknown as ServerResponse);
    await sleep(QUIET_MS * 3);
    expect(p.pages).toBe(0);
  });

  it("passes on what a failed page's handler rejected with, and counts the page done", async () => {
    const p = start();
    new AsyncLocalStorage<string>().run("render", () => undefined);
    const res = new FakeResponse();
    const failure = new Error("the render failed");
    const tracked = p.track(Promise.reject(failure), res as unknown as ServerResponse);
    res.close();
    await expect(tracked).rejects.toBe(failure);
    expect(p.pages).toBe(0);
    expect(await hooksAfterQuiet()).toBe(false);
  });

  it("disables nothing while `keep` says so (spans exported: OpenTelemetry's context is a storage)", async () => {
    let exporting = true;
    const p = start(() => exporting);
    const storage = new AsyncLocalStorage<string>();
    const first = page(p);
    storage.run("render", () => undefined);
    first.end();
    expect(await hooksAfterQuiet()).toBe(true);
    expect(p.enabled).toBe(1);
    exporting = false;
    const second = page(p);
    second.end();
    expect(await hooksAfterQuiet()).toBe(false);
  });

  it("with the production server and real responses: kept-alive connections, the hooks off after the last page", async () => {
    const p = start();
    const storage = new AsyncLocalStorage<string>();
    const server = createAppServer({
      // As Next: the page's store through its awaits, then the answer, the handler's promise last.
      handle: (req, res) =>
        storage.run(req.url ?? "", async () => {
          await sleep(5);
          res.end(storage.getStore());
          await sleep(5);
        }),
      serveOAuth: () => false,
      pages: p,
      settings: { HEADERS_TIMEOUT_SECONDS: 10, REQUEST_TIMEOUT_SECONDS: 30, MAX_CONNECTIONS: 16 },
      log: logger,
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<string>((resolve, reject) =>
        http.get(`${url}${path}`, { agent }, (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => (body += chunk.toString()));
          res.on("end", () => resolve(body));
          res.on("error", reject);
        }),
      );
    try {
      expect(await Promise.all([get("/login"), get("/account")])).toEqual(["/login", "/account"]);
      expect(await hooksAfterQuiet()).toBe(false);
      expect(p.pages).toBe(0);
      // The same connection, kept alive: the next page has its store again.
      expect(await get("/forgot-password")).toBe("/forgot-password");
      expect(await hooksAfterQuiet()).toBe(false);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/**
 * Next's `waitUntil` work outlives its page's handler and response (`after()`, the background
 * revalidation of a cached page, a route's or the proxy's `waitUntil`): turned off a second after
 * the last page, its storages would be empty. The app uses none; this fails if it comes to.
 */
describe("the app leaves Next no work after its pages", () => {
  it("no after(), waitUntil or revalidation in app/, lib/login/, proxy.ts or instrumentation.ts", () => {
    const under = (dir: string) =>
      fs
        .readdirSync(dir, { recursive: true, encoding: "utf8" })
        .filter((name) => /\.tsx?$/.test(name) && !name.endsWith(".test.ts"))
        .map((name) => `${dir}/${name}`);
    const files = [...under("app"), ...under("lib/login"), "proxy.ts", "instrumentation.ts"];
    expect(files.length).toBeGreaterThan(10);
    const found = files.flatMap((file) => {
      const text = fs.readFileSync(file, "utf8");
      return [
        /\bafter\s*\(/.test(text) && /import\s*\{[^}]*\b(unstable_)?after\b[^}]*\}\s*from\s*"next\/server"/.test(text) ? "after()" : "",
        /\bwaitUntil\b/.test(text) ? "waitUntil" : "",
        /export\s+const\s+revalidate\b/.test(text) ? "revalidate" : "",
        /\brevalidate(Path|Tag)\s*\(/.test(text) ? "revalidatePath/Tag" : "",
      ]
        .filter(Boolean)
        .map((what) => `${file}: ${what}`);
    });
    expect(found).toEqual([]);
  });
});
