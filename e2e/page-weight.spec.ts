import { expect, test } from "@playwright/test";
import { E2E } from "./env.ts";
import { loginAppWeights, SCRIPT_BUDGET_BYTES, weightTable } from "./page-weight.ts";

// Bytes do not vary between runs: this is a budget, not a timing.
test(`/login and /account load at most ${SCRIPT_BUDGET_BYTES / 1000} kB of gzip JavaScript over an empty App Router page`, async ({ browser }, testInfo) => {
  const weights = await loginAppWeights(browser, E2E.APP_URL, "alice", "alice-password-1");
  await testInfo.attach("page weights", { body: weightTable(weights).join("\n"), contentType: "text/markdown" });
  const [floor, ...pages] = weights;
  expect(floor!.bytes).toBeGreaterThan(50_000);
  for (const page of pages) {
    expect(page.bytes - floor!.bytes, `${page.path}: ${page.bytes} B against the floor's ${floor!.bytes} B`).toBeLessThanOrEqual(SCRIPT_BUDGET_BYTES);
  }
});
