// Every page of the login app and each of its states, in light and dark, on a phone and a
// desktop: axe finds no violation, nothing scrolls sideways, and each is photographed.
// SCREENSHOTS=1 writes the pictures to e2e/screenshots/ (committed; the README shows them),
// otherwise to the test's output folder.
import path from "node:path";
import { expectNoAxeViolations } from "./axe.ts";
import { expect, test, type Browser, type Page } from "@playwright/test";
import { LOCKOUT_USERS, SHOTS_USER } from "./env.ts";

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Wrong passwords until the server locks `username` out (none if it is already). */
async function lockOut(page: Page) {
  for (let i = 0; i < 6; i++) {
    await signIn(page, LOCKOUT_USERS[2], "wrong-password");
    const message = page.getByTestId("login-message");
    await expect(message).toHaveText(/Invalid username or password|Too many sign-in attempts/);
    if ((await message.textContent())?.startsWith("Too many")) return;
    await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
  }
}

const SIZES = [
  ["phone", 390, 844],
  ["desktop", 1280, 800],
] as const;

for (const [size, width, height] of SIZES) {
  for (const colorScheme of ["light", "dark"] as const) {
    test(`every page and state passes axe and fits at ${width}px in ${colorScheme} mode`, async ({ browser }, testInfo) => {
      test.setTimeout(180_000);
      const check = async (page: Page, state: string) => {
        // Nothing moving in the picture: the caret, a transition under way.
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        await expectNoAxeViolations(page, `${state}, ${size}, ${colorScheme}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(overflow, `${state} scrolls sideways by ${overflow}px`).toBe(0);
        await page.screenshot({
          fullPage: true,
          animations: "disabled",
          caret: "hide",
          path: process.env.SCREENSHOTS
            ? path.join(import.meta.dirname, "screenshots", `${state}-${size}-${colorScheme}.png`)
            : testInfo.outputPath(`${state}.png`),
        });
      };
      // "Without script": the page's own scripts never load (axe still runs: it is injected).
      const open = async (b: Browser, scripts = true) => {
        const context = await b.newContext({ viewport: { width, height }, colorScheme, reducedMotion: "reduce" });
        if (!scripts) await context.route(/\.js(\?|$)/, (route) => route.abort());
        return { context, page: await context.newPage() };
      };

      const { context, page } = await open(browser);
      try {
        await page.goto("/login");
        await expect(page.getByRole("button", { name: "Show password" })).toBeVisible();
        await check(page, "login");
        await signIn(page, "alice", "wrong-password");
        await expect(page.getByTestId("login-message")).toHaveText("Invalid username or password");
        await check(page, "login-error");
        await lockOut(page);
        await expect(page.getByTestId("login-message")).toHaveText(/^Too many sign-in attempts\. Try again in \d+ minutes?\.$/);
        await check(page, "login-lockout");
        await page.goto("/login?reason=signed_out");
        await expect(page.getByTestId("login-message")).toHaveText("You have signed out.");
        await check(page, "login-signed-out");
        // dave has a second factor: the code step.
        await signIn(page, "dave", "dave-password-1");
        await expect(page.getByLabel("Authentication code")).toBeVisible();
        await check(page, "login-code-step");
        expect((await context.cookies()).filter((cookie) => cookie.name.includes("login-mfa-step"))).toHaveLength(1);
        await page.getByRole("button", { name: "Cancel and start again" }).click();
        // The step is forgotten: the password form, and no step cookie left in the browser.
        await expect(page.getByLabel("Password")).toBeVisible();
        expect((await context.cookies()).filter((cookie) => cookie.name.includes("login-mfa-step"))).toEqual([]);
        await signIn(page, "alice", "alice-password-1");
        await expect(page).toHaveURL(/\/account$/);
        await expect(page.getByRole("heading", { name: "Your sessions" })).toBeVisible();
        // The token inspector too, so that axe sees it: open its disclosure.
        await page.locator("summary", { hasText: "Developer details" }).click();
        await expect(page.getByTestId("access-token-claims")).toBeVisible();
        await check(page, "account");
        // Where a sign-out the issuer did not confirm lands (lib/login/auth-route.ts): still signed
        // in, and said under the header's "Sign out", not in a section of the page.
        await page.goto("/account?error=sign_out_failed&form=sign_out");
        await expect(page.getByTestId("sign-out-message")).toHaveText("We couldn't sign you out, so you're still signed in. Please try again in a moment.");
        await check(page, "account-sign-out-failed");
        await page.goto("/nowhere");
        await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
        await check(page, "not-found");
      } finally {
        await context.close();
      }

      const shots = await open(browser);
      try {
        await shots.page.goto("/login");
        await signIn(shots.page, SHOTS_USER, `${SHOTS_USER}-password-1`);
        await expect(shots.page).toHaveURL(/\/account$/);
        await shots.page.locator("#two-step").getByLabel("Your password").fill(`${SHOTS_USER}-password-1`);
        await shots.page.getByRole("button", { name: "Set up two-step verification" }).click();
        await expect(shots.page.getByRole("img", { name: /QR code/ })).toBeVisible();
        await check(shots.page, "account-two-step");
      } finally {
        await shots.context.close();
      }

      const noScript = await open(browser, false);
      try {
        await noScript.page.goto("/login");
        await check(noScript.page, "login-no-js");
        // A name of its own per run: four failures of one name from one address would lock it out.
        await signIn(noScript.page, `nobody-${size}-${colorScheme}`, "wrong-password");
        await expect(noScript.page.getByTestId("login-message")).toHaveText("Invalid username or password");
        await check(noScript.page, "login-error-no-js");
        await noScript.page.goto("/nowhere");
        await check(noScript.page, "not-found-no-js");
      } finally {
        await noScript.context.close();
      }
    });
  }
}
