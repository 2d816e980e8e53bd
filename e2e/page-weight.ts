// The gzip JavaScript a cold load of each page of the login app costs in Chromium, against the
// floor: an empty App Router page of the same build (app/page-weight-floor). The budget test
// (e2e/page-weight.spec.ts) and the benchmark (e2e/bench/run.ts) both measure with this.
import { gzipSync } from "node:zlib";
import type { Browser, BrowserContextOptions } from "@playwright/test";

/** Over the floor, at most this many gzip bytes of JavaScript per page (15 kB). */
export const SCRIPT_BUDGET_BYTES = 15_000;

export interface Weight {
  path: string;
  /** gzip bytes of the JavaScript files the page loaded (each file compressed at gzip's default level). */
  bytes: number;
  files: number;
}

/**
 * One cold load (a fresh context: no cache) of `path`: every script response, compressed here
 * with gzip so that the figure does not depend on whether the server compressed it.
 */
export async function scriptWeight(browser: Browser, baseURL: string, path: string, options: BrowserContextOptions = {}): Promise<Weight> {
  const context = await browser.newContext({ ...options, baseURL });
  try {
    const page = await context.newPage();
    const bodies: Array<Promise<number>> = [];
    page.on("response", (response) => {
      if (response.request().resourceType() === "script") bodies.push(response.body().then((b) => gzipSync(b).length));
    });
    const response = await page.goto(path, { waitUntil: "networkidle" });
    if (!response || response.url() !== new URL(path, baseURL).href) throw new Error(`${path}: landed on ${response?.url()}`);
    const sizes = await Promise.all(bodies);
    return { path, bytes: sizes.reduce((a, b) => a + b, 0), files: sizes.length };
  } finally {
    await context.close();
  }
}

/** The floor, /login, and /account as `username` (signed in through the form in another context). */
export async function loginAppWeights(browser: Browser, baseURL: string, username: string, password: string): Promise<Weight[]> {
  const signingIn = await browser.newContext({ baseURL });
  let storageState: Awaited<ReturnType<typeof signingIn.storageState>>;
  try {
    const page = await signingIn.newPage();
    await page.goto("/login");
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL(/\/account$/);
    storageState = await signingIn.storageState();
  } finally {
    await signingIn.close();
  }
  return [
    await scriptWeight(browser, baseURL, "/page-weight-floor"),
    await scriptWeight(browser, baseURL, "/login"),
    await scriptWeight(browser, baseURL, "/account", { storageState }),
  ];
}

/** The weights as a markdown table, each against the floor (the first). */
export function weightTable(weights: Weight[]): string[] {
  const kb = (n: number) => (n / 1000).toFixed(1);
  const floor = weights[0]?.bytes ?? 0;
  return [
    "| page | JavaScript (gzip kB) | files | over the empty page (kB) |",
    "|---|---:|---:|---:|",
    ...weights.map(
      (w, i) => `| ${i === 0 ? "empty App Router page (floor)" : w.path} | ${kb(w.bytes)} | ${w.files} | ${i === 0 ? "-" : kb(w.bytes - floor)} |`,
    ),
  ];
}
