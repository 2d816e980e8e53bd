import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { expectNoAxeViolations } from "./axe.ts";

const FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0";
const SAFARI_ON_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

async function signIn(page: Page, username: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/account$/);
}

test("alice ends her other session from the list, and that browser is signed out at its next request", async ({ browser, page }) => {
  const elsewhere = await browser.newContext({ userAgent: FIREFOX_ON_WINDOWS });
  try {
    const other = await elsewhere.newPage();
    await signIn(other, "alice", "alice-password-1");
    await signIn(page, "alice", "alice-password-1");

    const sessions = page.getByTestId("session");
    await expect(sessions.first()).toContainText("This device");
    const row = sessions.filter({ hasText: "Firefox on Windows" });
    await expect(row).toHaveCount(1);
    await expect(row).toContainText(/signed in (just now|1 minute ago)/);
    await expect(row).not.toContainText("This device");
    await row.getByRole("button", { name: "Sign out Firefox on Windows" }).click();

    await expect(page.getByTestId("account-notice")).toHaveText("That session has been signed out.");
    await expect(sessions.filter({ hasText: "Firefox on Windows" })).toHaveCount(0);
    await expect(sessions.first()).toContainText("This device");

    await other.reload();
    await expect(other).toHaveURL(/\/login\?reason=expired$/);
    await expect(other.getByTestId("login-message")).toHaveText("Your session has ended. Please sign in again.");
    // This browser goes on.
    await page.reload();
    await expect(page).toHaveURL(/\/account/);
  } finally {
    await elsewhere.close();
  }
});

test("a sign-out the issuer did not confirm says so under the header's Sign out, and the next Sign out works", async ({ page }) => {
  await signIn(page, "alice", "alice-password-1");
  // Where lib/login/auth-route.ts sends the browser when the revocation failed: the session lives on.
  await page.goto("/account?error=sign_out_failed&form=sign_out");
  const message = page.getByRole("alert").filter({ hasText: "sign you out" });
  await expect(message).toHaveText("We couldn't sign you out, so you're still signed in. Please try again in a moment.");
  await expect(page.locator(".account-header + [role=alert]")).toHaveText(/still signed in/);
  await expect(page.locator("#sessions").getByRole("alert")).toHaveCount(0);
  await page.locator(".account-header").getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed_out$/);
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login/);
});

test("a password change signs every other session out; the new password signs in, the old one no longer", async ({ browser, page }) => {
  const elsewhere = await browser.newContext({ userAgent: SAFARI_ON_MAC });
  try {
    const other = await elsewhere.newPage();
    await signIn(other, "account-password", "account-password-password-1");
    await signIn(page, "account-password", "account-password-password-1");
    const urls: string[] = [];
    page.on("request", (request) => urls.push(request.url()));

    await page.locator("summary", { hasText: "Change password" }).click();
    // The rules are there before anything is submitted.
    await expect(page.locator("#password-rules")).toContainText("At least 8 characters");
    await expect(page.locator("#password-rules")).toContainText("Not a commonly used password.");
    await page.getByLabel("Current password").fill("account-password-password-1");
    await page.getByLabel("New password", { exact: true }).fill("iloveyou");
    await page.getByLabel("New password again").fill("iloveyou");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#password-message")).toHaveText("That password is too common. Choose one that is harder to guess.");

    // Longer than the policy allows: refused as typed, never stored cut to some length.
    await page.getByLabel("Current password").fill("account-password-password-1");
    await page.getByLabel("New password", { exact: true }).fill("k".repeat(1100));
    await page.getByLabel("New password again").fill("k".repeat(1100));
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#password-message")).toHaveText("The password must have at most 1024 characters.");

    await page.getByLabel("Current password").fill("not my password");
    await page.getByLabel("New password", { exact: true }).fill("purple kettle on the moon");
    await page.getByLabel("New password again").fill("purple kettle on the moon");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.locator("#password-message")).toHaveText("Your current password is not right.");

    await page.getByLabel("Current password").fill("account-password-password-1");
    await page.getByLabel("New password", { exact: true }).fill("purple kettle on the moon");
    await page.getByLabel("New password again").fill("purple kettle on the moon");
    await page.getByRole("button", { name: "Change password" }).click();
    await expect(page.getByTestId("account-notice")).toHaveText("Your password has been changed, and every other session has been signed out.");
    expect(urls.filter((u) => /kettle|password-1|not%20my|iloveyou/.test(u))).toEqual([]);

    await other.reload();
    await expect(other).toHaveURL(/\/login\?reason=expired$/);
    await other.getByLabel("Username").fill("account-password");
    await other.getByLabel("Password").fill("account-password-password-1");
    await other.getByRole("button", { name: "Sign in" }).click();
    await expect(other.getByTestId("login-message")).toHaveText("Invalid username or password");
    await other.getByLabel("Password").fill("purple kettle on the moon");
    await other.getByRole("button", { name: "Sign in" }).click();
    await expect(other).toHaveURL(/\/account$/);
  } finally {
    await elsewhere.close();
  }
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the password form and the session list post to the server", async ({ browser, page }) => {
    const elsewhere = await browser.newContext({ userAgent: FIREFOX_ON_WINDOWS, javaScriptEnabled: false });
    try {
      await signIn(await elsewhere.newPage(), "account-password-nojs", "account-password-nojs-password-1");
      await signIn(page, "account-password-nojs", "account-password-nojs-password-1");
      const urls: string[] = [];
      page.on("request", (request) => urls.push(request.url()));

      await page.locator("summary", { hasText: "Change password" }).click();
      await page.getByLabel("Current password").fill("account-password-nojs-password-1");
      await page.getByLabel("New password", { exact: true }).fill("tiny7ch");
      await page.getByLabel("New password again").fill("tiny7ch");
      await page.getByRole("button", { name: "Change password" }).click();
      await expect(page.locator("#password-message")).toHaveText("The password must have at least 8 characters.");
      // Focused as the page loads: read out, and scrolled to, far down a long page.
      await expect(page.locator("#password-message")).toBeFocused();

      const row = page.getByTestId("session").filter({ hasText: "Firefox on Windows" });
      await row.getByRole("button", { name: "Sign out Firefox on Windows" }).click();
      await expect(page.getByTestId("account-notice")).toHaveText("That session has been signed out.");
      await expect(page.getByTestId("session").filter({ hasText: "Firefox on Windows" })).toHaveCount(0);
      expect(urls.filter((u) => /password-1|tiny7ch/.test(u))).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });
});

// SCREENSHOTS=1 writes the page to e2e/screenshots/ (for the README), otherwise to the test's output folder.
for (const [name, width, height] of [
  ["narrow", 320, 640],
  ["desktop", 1280, 800],
] as const) {
  for (const colorScheme of ["light", "dark"] as const) {
    test(`the account page with its password form open passes axe and fits at ${width}px in ${colorScheme} mode`, async ({ browser }, testInfo) => {
      const context = await browser.newContext({ viewport: { width, height }, colorScheme });
      const elsewhere = await browser.newContext({ userAgent: SAFARI_ON_MAC });
      try {
        await signIn(await elsewhere.newPage(), "bob", "bob-password-1");
        const page = await context.newPage();
        await signIn(page, "bob", "bob-password-1");
        await page.locator("summary", { hasText: "Change password" }).click();
        await expectNoAxeViolations(page, `account, ${width}px, ${colorScheme}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `the account page scrolls sideways by ${overflow}px`).toBe(0);
        await page.screenshot({
          fullPage: true,
          path: process.env.SCREENSHOTS
            ? path.join(import.meta.dirname, "screenshots", `account-sessions-${name}-${colorScheme}.png`)
            : testInfo.outputPath("account-sessions.png"),
        });
      } finally {
        await elsewhere.close();
        await context.close();
      }
    });
  }
}
