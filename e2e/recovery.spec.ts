import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { startSmtpServer, type TestSmtpServer } from "../lib/testing/smtp.ts";
import { expectNoAxeViolations } from "./axe.ts";
import { E2E, RECOVERY_PASSWORD } from "./env.ts";

// The server mails through SMTP_URL (e2e/env.ts): the SMTP server at that address is this one.
let smtp: TestSmtpServer;
test.beforeAll(async () => {
  const url = new URL(E2E.SMTP_URL);
  smtp = await startSmtpServer({ user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), port: Number(url.port) });
});
test.afterAll(() => smtp.close());

const LINK = new RegExp(`^${E2E.APP_URL.replace(/[.]/g, "\\.")}/reset-password\\?token=[A-Za-z0-9_-]{43}$`, "m");

/** The reset link of the next mail, which must be to `to`. */
async function resetLinkFor(to: string): Promise<string> {
  const mail = await smtp.nextMailAbout("Reset your password", 15_000);
  expect(mail.rcptTo).toEqual([to]);
  expect(mail.subject).toBe("Reset your password for Default workspace");
  const link = LINK.exec(mail.text)?.[0];
  expect(link, mail.text).toBeDefined();
  return link ?? "";
}

async function askForLink(page: Page, identifier: string) {
  await page.goto("/login");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel("Username or email").fill(identifier);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByTestId("recovery-sent")).toContainText("If an account exists, we've sent a link");
}

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

test("forgot password: a link by mail, a new password, then sign-in with it", async ({ page }) => {
  await askForLink(page, "reset-me@example.com");
  const link = await resetLinkFor("reset-me@example.com");
  const response = await page.goto(link);
  // The token is in this page's URL: no Referer may carry it anywhere.
  expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
  await expect(page.getByTestId("password-rules")).toContainText("At least 8 characters");
  await expect(page.getByTestId("password-rules")).toContainText("Not a commonly used password");
  await page.getByLabel("New password", { exact: true }).fill("a new passphrase for me");
  await page.getByLabel("New password again").fill("a new passphrase for me");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page).toHaveURL(/\/login\?reason=password_reset$/);
  await expect(page.getByTestId("login-message")).toHaveText(/Your password has been changed/);
  await signIn(page, "reset-me", RECOVERY_PASSWORD);
  await expect(page.getByTestId("login-message")).toHaveText("Invalid username or password");
  await signIn(page, "reset-me", "a new passphrase for me");
  await expect(page).toHaveURL(/\/account$/);
  // The link worked once.
  await page.goto(link);
  await page.getByLabel("New password", { exact: true }).fill("yet another passphrase");
  await page.getByLabel("New password again").fill("yet another passphrase");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByTestId("reset-message")).toContainText("This link is no longer valid");
});

test("without JavaScript too: the forms post to the server, a refused password says which rule", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await askForLink(page, "reset-nojs");
    const link = await resetLinkFor("reset-nojs@example.com");
    await page.goto(link);
    const posts: string[] = [];
    page.on("request", (r) => {
      if (r.method() === "POST") posts.push(r.url());
    });
    await page.getByLabel("New password", { exact: true }).fill("password123");
    await page.getByLabel("New password again").fill("password124");
    await page.getByRole("button", { name: "Set the new password" }).click();
    await expect(page.getByTestId("reset-message")).toHaveText("The two passwords are not the same. Please type them again.");
    await page.getByLabel("New password", { exact: true }).fill("password123");
    await page.getByLabel("New password again").fill("password123");
    await page.getByRole("button", { name: "Set the new password" }).click();
    await expect(page.getByTestId("reset-message")).toContainText("That password is too common");
    // No password in any URL the browser went to, only in the posted bodies.
    expect(page.url()).not.toContain("password123");
    expect(posts.every((u) => u.endsWith("/reset-password/submit"))).toBe(true);
    await page.getByLabel("New password", { exact: true }).fill("a passphrase without script");
    await page.getByLabel("New password again").fill("a passphrase without script");
    await page.getByRole("button", { name: "Set the new password" }).click();
    await expect(page).toHaveURL(/\/login\?reason=password_reset$/);
  } finally {
    await context.close();
  }
});

test("a new email address counts once its link is followed, and the link works once; each step passes axe", async ({ page }) => {
  await page.goto("/login");
  await signIn(page, "verify-me", RECOVERY_PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  const email = page.getByLabel("Email", { exact: true });
  await page.getByText("Edit your details").click();
  await email.fill("verify-me-new@example.com");
  // A new address needs the current password: a signed-in browser alone must not move the account's mail.
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.locator("#profile-message")).toHaveText("Enter your current password to change your email address.");
  await email.fill("verify-me-new@example.com");
  await page.locator("#profile-password").fill(RECOVERY_PASSWORD);
  await page.getByRole("button", { name: "Save" }).click();
  const mail = await smtp.nextMailAbout("Confirm your email address", 15_000);
  expect(mail.rcptTo).toEqual(["verify-me-new@example.com"]);
  // The link names the account's workspace (this app's own here).
  const link = new RegExp(`${E2E.APP_URL.replace(/[.]/g, "\\.")}/verify-email\\?token=[A-Za-z0-9_-]+&tenant=demo&workspace=default$`, "m").exec(mail.text)?.[0];
  expect(link, mail.text).toBeDefined();
  // Until the link is followed, the account keeps its old address.
  await page.goto("/account");
  await expect(email).toHaveValue("verify-me@example.com");
  await expect(page.getByTestId("profile-email")).toContainText("Waiting for you to confirm verify-me-new@example.com");
  await expect(page.getByRole("button", { name: "Cancel change" })).toBeVisible();
  await expectNoAxeViolations(page, "account, an address waiting for its confirmation");

  // Opening the link confirms nothing by itself (mail scanners open links): its button does.
  await page.goto(link!);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm your email address");
  await expectNoAxeViolations(page, "verify-email");
  await page.getByRole("button", { name: "Confirm the address" }).click();
  await expect(page.getByTestId("verify-done")).toHaveText("Your account now uses this email address.");
  await expectNoAxeViolations(page, "verify-email, done");
  await page.getByRole("link", { name: "Go to your account" }).click();
  await expect(email).toHaveValue("verify-me-new@example.com");

  // Spent: the same link again is refused, with what to do.
  await page.goto(link!);
  await page.getByRole("button", { name: "Confirm the address" }).click();
  await expect(page.getByTestId("verify-message")).toHaveText(
    "This link is no longer valid: a link works once, and only for a limited time. Change the address again from your account for a new one.",
  );
  await expectNoAxeViolations(page, "verify-email, spent link");
});

test("a link for another workspace of this server: the page posts to it, wears no workspace's look, and offers no way to this app's account page", async ({
  page,
}) => {
  const account = page.getByRole("link", { name: "Go to your account" });
  const brand = page.getByTestId("brand");
  // This app's own workspace's link: its name above the page, and its account page below.
  await page.goto(`/verify-email?token=${"A".repeat(43)}&tenant=demo&workspace=default`);
  await expect(brand).toHaveText("Default workspace");
  await expect(account).toHaveCount(1);
  // A workspace this server does not have: the link is no good, and says so.
  await page.goto("/verify-email?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&tenant=acme&workspace=nowhere");
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirm your email address");
  await expect(account).toHaveCount(0);
  await expect(brand).toHaveCount(0);
  await page.getByRole("button", { name: "Confirm the address" }).click();
  await expect(page).toHaveURL(/\/verify-email\?error=invalid_link&tenant=acme&workspace=nowhere$/);
  await expect(page.getByTestId("verify-message")).toHaveText(/^This link is no longer valid/);
  await expect(account).toHaveCount(0);
  // A name no workspace can have is refused before anything is posted.
  await page.goto("/verify-email?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&tenant=..&workspace=default");
  await expect(page.getByTestId("verify-message")).toHaveText(/^This link is no longer valid/);
  await expect(page.getByRole("button", { name: "Confirm the address" })).toHaveCount(0);
  // Confirmed elsewhere: no link to this app's account page, which is not that account's.
  await page.goto("/verify-email?done=1&tenant=acme&workspace=prod");
  await expect(page.getByTestId("verify-done")).toHaveText("Your account now uses this email address.");
  await expect(page.getByText("You can close this page.")).toBeVisible();
  await expect(account).toHaveCount(0);
  await expect(brand).toHaveCount(0);
  await expectNoAxeViolations(page, "verify-email, done in another workspace");
});

test("the development mailbox is never served in production", async ({ page }) => {
  const response = await page.goto("/dev/mailbox");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
});

// SCREENSHOTS=1 writes each page to e2e/screenshots/ (for the README), otherwise to the test's output folder.
for (const [name, width, height] of [
  ["narrow", 320, 640],
  ["desktop", 1280, 800],
] as const) {
  for (const colorScheme of ["light", "dark"] as const) {
    test(`the recovery pages pass axe and do not scroll sideways at ${width}px in ${colorScheme} mode`, async ({ browser }, testInfo) => {
      const context = await browser.newContext({ viewport: { width, height }, colorScheme });
      try {
        const page = await context.newPage();
        const check = async (file: string) => {
          await expectNoAxeViolations(page, `${file}, ${width}px, ${colorScheme}`);
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          expect(overflow, `${file} scrolls sideways by ${overflow}px`).toBe(0);
          await page.screenshot({
            fullPage: true,
            path: process.env.SCREENSHOTS
              ? path.join(import.meta.dirname, "screenshots", `${file}-${name}-${colorScheme}.png`)
              : testInfo.outputPath(`${file}.png`),
          });
        };
        const user = `reset-shots-${name}-${colorScheme}`;
        await askForLink(page, user);
        await check("forgot-password-sent");
        await page.goto("/forgot-password");
        await check("forgot-password");
        const link = await resetLinkFor(`${user}@example.com`);
        await page.goto(link);
        await page.getByLabel("New password", { exact: true }).fill("password123");
        await page.getByLabel("New password again").fill("password123");
        await page.getByRole("button", { name: "Set the new password" }).click();
        await expect(page.getByTestId("reset-message")).toContainText("That password is too common");
        await check("reset-password");
        // A confirmation link as mailed (the token is never looked at before the click), and the
        // page after one of another workspace was confirmed: no link to this app's account page.
        await page.goto(`/verify-email?token=${"A".repeat(43)}&tenant=demo&workspace=default`);
        await expect(page.getByRole("button", { name: "Confirm the address" })).toBeVisible();
        await check("verify-email");
        await page.goto("/verify-email?done=1&tenant=acme&workspace=prod");
        await expect(page.getByTestId("verify-done")).toBeVisible();
        await check("verify-email-done-elsewhere");
      } finally {
        await context.close();
      }
    });
  }
}
