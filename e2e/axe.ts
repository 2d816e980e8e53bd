// The accessibility check every page of the login app passes (e2e/pages.spec.ts and the account
// and recovery specs): axe with WCAG 2.2 AA and best practices finds nothing.
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

export async function expectNoAxeViolations(page: Page, what: string): Promise<void> {
  // After a client-side navigation (the sign-in's code step) Next sets the new page's title a
  // moment after its content: wait for it, or axe can catch the page between the two.
  await expect(page).toHaveTitle(/\S/);
  // axe.run in the page itself ("legacy mode"): the login app's pages have no frames, so it checks
  // what the frame-by-frame run checks, without injecting axe twice and opening a blank page to
  // merge the results (half the time per page). Only violations are reported in detail.
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"])
    .options({ resultTypes: ["violations"] })
    .setLegacyMode()
    .analyze();
  expect(
    results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    what,
  ).toEqual([]);
}
