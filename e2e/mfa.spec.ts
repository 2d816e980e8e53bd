import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import path from "node:path";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import Database from "better-sqlite3";
import { decode } from "next-auth/jwt";
import { expectNoAxeViolations } from "./axe.ts";
import { E2E, LONG_DETAILS_MFA_USER } from "./env.ts";

const ISSUER = "/demo/default";
const DAVE_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const BACKEND = `Basic ${Buffer.from("demo-backend:demo-backend-secret").toString("base64")}`;

function base32(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/[\s=]/g, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  return Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
}

/** RFC 6238 (HMAC-SHA-1, 6 digits, 30 s) at a time step; `offset` steps from now. */
function totp(secret: string, offset = 0): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + offset));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const at = mac[mac.length - 1]! & 0x0f;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/**
 * Gives `username` a confirmed TOTP factor over HTTP, as any client would: a password-grant
 * access token, associate, then a current code confirms. The code of the step after the current
 * one is still accepted (±1 step of drift), so a sign-in right after uses `totp(secret, 1)`:
 * the confirming code cannot be replayed.
 */
async function enrolOverHttp(request: APIRequestContext, username: string) {
  const token = await request.post(`${ISSUER}/oauth2/token`, {
    headers: { Authorization: BACKEND },
    form: { grant_type: "password", username, password: `${username}-password-1`, scope: "openid" },
  });
  expect(token.status()).toBe(200);
  const bearer = { Authorization: `Bearer ${(await token.json()).access_token}` };
  const associated = await request.post(`${ISSUER}/mfa/associate`, {
    headers: bearer,
    form: { authenticator_types: "otp", password: `${username}-password-1` },
  });
  expect(associated.status()).toBe(200);
  const { secret, recovery_codes: recoveryCodes } = (await associated.json()) as { secret: string; recovery_codes: string[] };
  const confirmed = await request.post(`${ISSUER}/mfa/confirm`, { headers: bearer, form: { otp: totp(secret) } });
  expect(confirmed.status()).toBe(200);
  return { secret, recoveryCodes };
}

async function signIn(page: Page, username: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The account page's set-up form: the user's password, then the button. */
async function setUp(page: Page, password: string) {
  await page.locator("#two-step").getByLabel("Your password").fill(password);
  await page.getByRole("button", { name: "Set up two-step verification" }).click();
}

async function enterCode(page: Page, code: string) {
  await page.getByLabel("Authentication code").fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
}

async function sessionClaims(page: Page) {
  const cookie = (await page.context().cookies()).find((c) => c.name === "next-auth.session-token");
  expect(cookie, "session cookie").toBeDefined();
  const jwt = await decode({ token: cookie!.value, secret: E2E.NEXTAUTH_SECRET });
  const access = jwt!.tokens!.accessToken;
  return JSON.parse(Buffer.from(access.split(".")[1]!, "base64url").toString()) as { amr: string[] };
}

test("dave signs in with his password and a code from his app", async ({ page }) => {
  await signIn(page, "dave", "dave-password-1");
  const field = page.getByLabel("Authentication code");
  await expect(field).toBeVisible();
  await expect(field).toHaveAttribute("autocomplete", "one-time-code");
  await expect(field).toHaveAttribute("inputmode", "numeric");
  await expect(field).toBeFocused();
  await expect(page).toHaveURL(/\/login$/);
  await enterCode(page, totp(DAVE_SECRET));
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dave Example");
  await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is on");
  expect((await sessionClaims(page)).amr).toEqual(["pwd", "otp", "mfa"]);
});

test("a wrong code can be corrected; the mfa_token never reaches the page, its script or a URL", async ({ page }) => {
  const { secret } = await enrolOverHttp(page.request, "mfa-wrong");
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  await signIn(page, "mfa-wrong", "mfa-wrong-password-1");
  await expect(page.getByLabel("Authentication code")).toBeVisible();
  // The step lives in an httpOnly cookie: script sees no cookie at all.
  expect(await page.evaluate(() => document.cookie)).toBe("");
  const step = (await page.context().cookies()).find((c) => c.name === "login-mfa-step")!;
  expect(step.httpOnly).toBe(true);
  expect(step.sameSite).toBe("Strict");
  const html = await page.content();
  expect(html).not.toMatch(/mfa_token|mfaToken/);

  const wrong = totp(secret, 1) === "000000" ? "111111" : "000000";
  await enterCode(page, wrong);
  await expect(page.getByTestId("login-message")).toHaveText("That code didn't work. Check your authenticator app and try again.");
  await expect(page.getByLabel("Authentication code")).toHaveValue("");
  await expect(page.getByLabel("Authentication code")).toBeFocused();
  await enterCode(page, totp(secret, 1));
  await expect(page).toHaveURL(/\/account$/);
  for (const url of urls.filter((u) => !u.includes("/_next/static/"))) {
    expect(url).not.toMatch(/mfa_token|otp=/);
    expect(url).not.toContain(wrong);
  }
  expect((await page.context().cookies()).find((c) => c.name === "login-mfa-step")).toBeUndefined();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the password and then the code are posted to the server, neither in a URL", async ({ page }) => {
    const { secret } = await enrolOverHttp(page.request, "mfa-nojs");
    const urls: string[] = [];
    page.on("request", (r) => urls.push(r.url()));
    await signIn(page, "mfa-nojs", "mfa-nojs-password-1");
    await expect(page.getByLabel("Authentication code")).toBeVisible();
    const wrong = totp(secret, 1) === "000000" ? "111111" : "000000";
    await enterCode(page, wrong);
    await expect(page.getByTestId("login-message")).toHaveText("That code didn't work. Check your authenticator app and try again.");
    const code = totp(secret, 1);
    await enterCode(page, code);
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("mfa-nojs Example");
    for (const url of urls) {
      expect(url).not.toContain("mfa-nojs-password-1");
      expect(url).not.toContain(code);
      expect(url).not.toMatch(/mfa_token|otp=/);
    }
  });
});

test.describe("without JavaScript, at the code step", () => {
  test.use({ javaScriptEnabled: false });

  test("a wrong recovery code comes back to the recovery code's form, saying so, and a right one signs in", async ({ page }) => {
    const { recoveryCodes } = await enrolOverHttp(page.request, "mfa-recovery-nojs");
    await signIn(page, "mfa-recovery-nojs", "mfa-recovery-nojs-password-1");
    await page.getByRole("link", { name: "Use a recovery code instead" }).click();
    await page.getByLabel("Recovery code").fill("AAAA-BBBB-CCCC");
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page.getByLabel("Recovery code")).toBeVisible();
    await expect(page.getByTestId("login-message")).toHaveText("That recovery code didn't work. Check it and try again: each code works once.");
    await page.getByLabel("Recovery code").fill(recoveryCodes[0]!);
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page).toHaveURL(/\/account$/);
  });

  test("Cancel and start again forgets the step and shows the password form", async ({ page }) => {
    await enrolOverHttp(page.request, "mfa-cancel-nojs");
    await page.goto("/login?callbackUrl=%2Faccount%3Fnotice%3Dx");
    await page.getByLabel("Username").fill("mfa-cancel-nojs");
    await page.getByLabel("Password").fill("mfa-cancel-nojs-password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByLabel("Authentication code")).toBeVisible();
    expect((await page.context().cookies()).filter((c) => c.name.includes("login-mfa-step"))).toHaveLength(1);
    const answer = page.waitForResponse((r) => r.request().method() === "POST");
    await page.getByRole("button", { name: "Cancel and start again" }).click();
    expect((await answer).status()).toBe(303);
    await expect(page.getByLabel("Password")).toBeVisible();
    expect(new URL(page.url()).search).toBe("?callbackUrl=%2Faccount%3Fnotice%3Dx");
    expect((await page.context().cookies()).filter((c) => c.name.includes("login-mfa-step"))).toEqual([]);
  });
});

test("a recovery code signs in instead of a code, once", async ({ page }) => {
  const { recoveryCodes } = await enrolOverHttp(page.request, "mfa-recovery");
  await signIn(page, "mfa-recovery", "mfa-recovery-password-1");
  await page.getByRole("link", { name: "Use a recovery code instead" }).click();
  // Without any code left, the way out is an operator's `user reset-mfa`: the form says whom to ask.
  await expect(page.getByLabel("Recovery code")).toHaveAccessibleDescription(
    "One of the codes you saved when you set up two-step verification. Each works once. Lost them, or used them all? Your administrator can turn off two-step verification for your account.",
  );
  await page.getByLabel("Recovery code").fill(recoveryCodes[0]!);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/account$/);
  expect((await sessionClaims(page)).amr).toEqual(["pwd", "mfa"]);

  await page.context().clearCookies();
  await signIn(page, "mfa-recovery", "mfa-recovery-password-1");
  await page.getByRole("link", { name: "Use a recovery code instead" }).click();
  await page.getByLabel("Recovery code").fill(recoveryCodes[0]!);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByTestId("login-message")).toHaveText("That recovery code didn't work. Check it and try again: each code works once.");
});

/**
 * Locks `username`'s factor as ten wrong codes in a row would (the server's own count, in the e2e
 * database): from one browser the per-address limits stop the guessing at five.
 */
function lockFactor(username: string) {
  const db = new Database(path.resolve(import.meta.dirname, "..", E2E.DATABASE_URL.slice("file:".length)));
  try {
    const { changes } = db.prepare(`UPDATE "MfaFactor" SET "wrongCodes" = 10 WHERE "userId" IN (SELECT "id" FROM "User" WHERE "username" = ?)`).run(username);
    expect(changes).toBe(1);
  } finally {
    db.close();
  }
}

test("codes locked by wrong ones: the right code brings the recovery code's form, saying why, and a recovery code signs in", async ({ page }) => {
  const { secret, recoveryCodes } = await enrolOverHttp(page.request, "mfa-locked");
  const urls: string[] = [];
  page.on("request", (r) => urls.push(r.url()));
  await signIn(page, "mfa-locked", "mfa-locked-password-1");
  await expect(page.getByLabel("Authentication code")).toBeVisible();
  lockFactor("mfa-locked");
  const code = totp(secret, 1);
  await enterCode(page, code);
  await expect(page.getByLabel("Recovery code")).toBeFocused();
  await expect(page.getByTestId("login-message")).toHaveText(
    "Too many wrong codes in a row, so codes from your authenticator app are turned off. Use a recovery code instead: that turns them back on.",
  );
  expect(new URL(page.url()).searchParams.get("method")).toBe("recovery-code");
  await page.getByLabel("Recovery code").fill(recoveryCodes[0]!);
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page).toHaveURL(/\/account$/);
  expect((await sessionClaims(page)).amr).toEqual(["pwd", "mfa"]);
  for (const url of urls) expect(url).not.toContain(code);
});

test("a step that expired sends the user back to the password with a clear message", async ({ page }) => {
  const { secret } = await enrolOverHttp(page.request, "mfa-expired");
  await signIn(page, "mfa-expired", "mfa-expired-password-1");
  await expect(page.getByLabel("Authentication code")).toBeVisible();
  // The sealed step outlives its 5 minutes nowhere: without it the code cannot be used.
  await page.context().clearCookies({ name: "login-mfa-step" });
  await enterCode(page, totp(secret, 1));
  await expect(page).toHaveURL(/\/login\?reason=mfa_expired/);
  await expect(page.getByTestId("login-message")).toHaveText("Your sign-in timed out or had too many wrong codes. Please enter your password again.");
  await expect(page.getByLabel("Password")).toBeVisible();
});

test("the fifth wrong code ends the step, and the sign-in is locked like after wrong passwords", async ({ page }) => {
  const { secret } = await enrolOverHttp(page.request, "mfa-codes");
  await signIn(page, "mfa-codes", "mfa-codes-password-1");
  const right = new Set([totp(secret, -1), totp(secret), totp(secret, 1)]);
  const wrong = ["000000", "111111", "222222", "333333", "444444", "555555"].filter((c) => !right.has(c));
  for (const code of wrong.slice(0, 4)) {
    await enterCode(page, code);
    await expect(page.getByTestId("login-message")).toContainText("didn't work");
  }
  await enterCode(page, wrong[4]!);
  await expect(page).toHaveURL(/\/login\?reason=mfa_expired/);
  await page.getByLabel("Username").fill("mfa-codes");
  await page.getByLabel("Password").fill("mfa-codes-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("login-message")).toHaveText(/^Too many sign-in attempts\. Try again in \d+ minutes?\.$/);
});

test("a user enrols from the account page: QR code, secret, a code, then the recovery codes once", async ({ page }) => {
  await signIn(page, "mfa-enrol", "mfa-enrol-password-1");
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is off");
  // A session alone adds no factor: with a wrong password nothing starts, and the form says so.
  await setUp(page, "not-the-password");
  await expect(page).toHaveURL(/\/account\?/);
  expect(page.url()).not.toContain("not-the-password");
  await expect(page.locator("#set-up-message")).toHaveText("Your current password is not right.");
  await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is off");
  await setUp(page, "mfa-enrol-password-1");
  await expect(page).toHaveURL(/\/account\/two-step-verification$/);
  await expect(page.getByRole("img", { name: /QR code/ })).toHaveAttribute("src", /^data:image\/svg\+xml;base64,/);
  const secret = (await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "");
  expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
  expect(await page.evaluate(() => document.cookie)).toBe("");
  await page.getByLabel("Authentication code").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await expect(page).toHaveURL(/\/account\?notice=two_step_on#two-step$/);
  const codes = page.getByTestId("recovery-codes").locator("li");
  await expect(codes).toHaveCount(10);
  await expect(page.getByRole("link", { name: "Download" })).toHaveAttribute("download", "recovery-codes.txt");
  await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is on");
  expect(await page.evaluate(() => document.cookie)).toBe("");
  // Shown once: a reload has no codes, and the enrolment page has nothing left to show.
  await page.reload();
  await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is on");
  await expect(page.getByTestId("recovery-codes")).toHaveCount(0);
  await page.goto("/account/two-step-verification");
  await expect(page).toHaveURL(/\/account$/);

  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed_out$/);
  await signIn(page, "mfa-enrol", "mfa-enrol-password-1");
  await enterCode(page, totp(secret, 1));
  await expect(page).toHaveURL(/\/account$/);
});

test("new recovery codes, then two-step verification turned off, each with the password", async ({ page }) => {
  const { secret } = await enrolOverHttp(page.request, "mfa-off");
  await signIn(page, "mfa-off", "mfa-off-password-1");
  await enterCode(page, totp(secret, 1));
  await expect(page).toHaveURL(/\/account$/);

  await page.getByText("New recovery codes", { exact: true }).click();
  await page.getByLabel("Authentication code or password").first().fill("mfa-off-password-1");
  await page.getByRole("button", { name: "Get new recovery codes" }).click();
  await expect(page.getByTestId("recovery-codes").locator("li")).toHaveCount(10);

  await page.getByText("Turn off two-step verification", { exact: true }).first().click();
  const proof = page.locator("#turn-off-proof");
  await proof.fill("not-the-password");
  await page.getByRole("button", { name: "Turn off two-step verification" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "didn't work" })).toBeVisible();
  await proof.fill("mfa-off-password-1");
  await page.getByRole("button", { name: "Turn off two-step verification" }).click();
  await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is off");

  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed_out$/);
  await signIn(page, "mfa-off", "mfa-off-password-1");
  await expect(page).toHaveURL(/\/account$/);
});

test("a session from before two-step verification was turned on changes the password with a code too; the form passes axe and fits 320px, light and dark", async ({
  page,
}, testInfo) => {
  await signIn(page, "mfa-step-up", "mfa-step-up-password-1");
  await expect(page).toHaveURL(/\/account$/);
  // Turned on elsewhere (another device, any client): this session's sign-in passed no code.
  const { secret } = await enrolOverHttp(page.request, "mfa-step-up");
  const form = page.locator("#password form");
  const code = form.getByLabel("Authentication code");
  for (const [name, width, height] of [
    ["narrow", 320, 640],
    ["desktop", 1280, 800],
  ] as const) {
    for (const colorScheme of ["light", "dark"] as const) {
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme });
      // The page as this session sees it now (a load, not a move to its #password).
      await page.reload();
      await page.locator("summary", { hasText: "Change password" }).click();
      await expect(code).toHaveAccessibleDescription("The 6-digit code your authenticator app shows now: you signed in without one this time.");
      expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
      await expectNoAxeViolations(page, `password form with a code, ${width}px, ${colorScheme}`);
      await page.locator("#password").screenshot({
        path: process.env.SCREENSHOTS
          ? path.join(import.meta.dirname, "screenshots", `account-password-code-${name}-${colorScheme}.png`)
          : testInfo.outputPath(`account-password-code-${name}-${colorScheme}.png`),
      });
    }
  }
  await form.getByLabel("Current password").fill("mfa-step-up-password-1");
  await form.getByLabel("New password", { exact: true }).fill("a step-up passphrase");
  await form.getByLabel("New password again").fill("a step-up passphrase");
  const wrong = totp(secret, 1) === "000000" ? "111111" : "000000";
  await code.fill(wrong);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#password-message")).toHaveText("That code or password didn't work. Please try again.");
  await form.getByLabel("Current password").fill("mfa-step-up-password-1");
  await form.getByLabel("New password", { exact: true }).fill("a step-up passphrase");
  await form.getByLabel("New password again").fill("a step-up passphrase");
  await code.fill(totp(secret, 1));
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByTestId("account-notice")).toHaveText("Your password has been changed, and every other session has been signed out.");
});

test.describe("the account page without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a user sets up two-step verification, gets new recovery codes and turns it off, with plain form posts (codes: the session signed in without one)", async ({
    page,
  }, testInfo) => {
    const urls: string[] = [];
    page.on("request", (request) => urls.push(request.url()));
    await signIn(page, "mfa-account-nojs", "mfa-account-nojs-password-1");
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is off");
    await setUp(page, "mfa-account-nojs-password-1");
    await expect(page).toHaveURL(/\/account\/two-step-verification$/);
    const secret = (await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "");
    expect(secret).toMatch(/^[A-Z2-7]{32,}$/);

    // A wrong code comes back to the same page, which says so.
    const right = new Set([totp(secret, -1), totp(secret), totp(secret, 1)]);
    const wrong = ["000000", "111111", "222222", "333333"].find((code) => !right.has(code))!;
    await page.getByLabel("Authentication code").fill(wrong);
    await page.getByRole("button", { name: "Turn on" }).click();
    await expect(page).toHaveURL(/\/account\/two-step-verification\?error=wrong_code$/);
    await expect(page.getByRole("alert").filter({ hasText: "didn't work" })).toBeVisible();

    // The previous step's code (still taken): this test uses three steps' codes in turn, each once.
    await page.getByLabel("Authentication code").fill(totp(secret, -1));
    await page.getByRole("button", { name: "Turn on" }).click();
    await expect(page).toHaveURL(/\/account\?notice=two_step_on#two-step$/);
    await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is on");
    const codes = page.getByTestId("recovery-codes").locator("li");
    await expect(codes).toHaveCount(10);
    const first = await codes.allTextContents();
    await page.screenshot({ fullPage: true, path: testInfo.outputPath("account-recovery-codes.png") });
    // Shown once: the same page again has no codes, and the set-up page has nothing left to show.
    await page.reload();
    await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is on");
    await expect(page.getByTestId("recovery-codes")).toHaveCount(0);
    await page.goto("/account/two-step-verification");
    await expect(page).toHaveURL(/\/account$/);

    // This session signed in without a code: the password does not confirm a change of the second
    // factor (whoever had it could otherwise turn the factor off); a current code does.
    await page.getByText("New recovery codes", { exact: true }).click();
    await page.locator("#codes-proof").fill("mfa-account-nojs-password-1");
    await page.getByRole("button", { name: "Get new recovery codes" }).click();
    // No fragment: the form's error takes the focus as the page loads (and so is scrolled to).
    await expect(page).toHaveURL(/\/account\?error=code_required&form=new_codes$/);
    await expect(page.getByRole("alert").filter({ hasText: "signed in without a code" })).toBeVisible();
    await expect(page.getByRole("alert").filter({ hasText: "signed in without a code" })).toBeFocused();
    await page.locator("#codes-proof").fill(totp(secret));
    await page.getByRole("button", { name: "Get new recovery codes" }).click();
    await expect(page).toHaveURL(/\/account\?notice=codes_renewed#two-step$/);
    await expect(codes).toHaveCount(10);
    expect(await codes.allTextContents()).not.toEqual(first);

    await page.getByText("Turn off two-step verification", { exact: true }).first().click();
    await page.locator("#turn-off-proof").fill("not-the-password");
    await page.getByRole("button", { name: "Turn off two-step verification" }).click();
    await expect(page).toHaveURL(/\/account\?error=code_required&form=turn_off$/);
    await page.locator("#turn-off-proof").fill(wrong);
    await page.getByRole("button", { name: "Turn off two-step verification" }).click();
    await expect(page).toHaveURL(/\/account\?error=wrong_code&form=turn_off$/);
    await expect(page.getByRole("alert").filter({ hasText: "didn't work" })).toBeVisible();
    await page.locator("#turn-off-proof").fill(totp(secret, 1));
    await page.getByRole("button", { name: "Turn off two-step verification" }).click();
    await expect(page).toHaveURL(/\/account\?notice=two_step_off#two-step$/);
    await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is off");

    // No secret, recovery code or password ever went into a URL.
    const secrets = [secret, ...first, "mfa-account-nojs-password-1", "not-the-password"];
    for (const url of urls) for (const value of secrets) expect(decodeURIComponent(url)).not.toContain(value);
  });
});

// Screenshots of the new pages for the README and review: SCREENSHOTS=1 writes them to
// e2e/screenshots/, otherwise to the test's output folder.
for (const [name, width, height] of [
  ["narrow", 320, 640],
  ["desktop", 1280, 800],
] as const) {
  for (const colorScheme of ["light", "dark"] as const) {
    test(`the code step, the recovery code step and the enrolment page pass axe and fit ${width}px in ${colorScheme} mode`, async ({ browser }, testInfo) => {
      const context = await browser.newContext({ viewport: { width, height }, colorScheme });
      const shot = (page: Page, file: string) =>
        page.screenshot({
          fullPage: true,
          path: process.env.SCREENSHOTS
            ? path.join(import.meta.dirname, "screenshots", `${file}-${name}-${colorScheme}.png`)
            : testInfo.outputPath(`${file}.png`),
        });
      try {
        const page = await context.newPage();
        await signIn(page, "dave", "dave-password-1");
        await expect(page.getByLabel("Authentication code")).toBeVisible();
        const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        expect(await overflow()).toBe(0);
        await expectNoAxeViolations(page, `code step, ${width}px, ${colorScheme}`);
        await shot(page, "mfa-code");

        // Codes locked (otp_locked, as the no-script path puts it in the URL): the recovery code's
        // form, saying why, and whom to ask when no code is left.
        await page.goto("/login?method=recovery-code&error=otp_locked");
        await expect(page.getByLabel("Recovery code")).toBeVisible();
        await expect(page.getByTestId("login-message")).toHaveText(
          "Too many wrong codes in a row, so codes from your authenticator app are turned off. Use a recovery code instead: that turns them back on.",
        );
        expect(await overflow()).toBe(0);
        await expectNoAxeViolations(page, `recovery code step, codes locked, ${width}px, ${colorScheme}`);
        await shot(page, "mfa-code-locked");

        await page.request.post("/api/auth/signout", { failOnStatusCode: false });
        await context.clearCookies();
        await signIn(page, "alice", "alice-password-1");
        await expect(page).toHaveURL(/\/account$/);
        await setUp(page, "alice-password-1");
        await expect(page.getByTestId("totp-secret")).toBeVisible();
        expect(await overflow()).toBe(0);
        await expectNoAxeViolations(page, `enrolment page, ${width}px, ${colorScheme}`);
        await shot(page, "mfa-enrol");
      } finally {
        await context.close();
      }
    });
  }
}

/**
 * Sets demo-web's own MFA policy with the admin CLI, on the database the e2e server runs on, as
 * an operator would (`inherit` goes back to the workspace's `optional`).
 */
function setLoginClientPolicy(policy: "required" | "inherit") {
  const { ACCESS_TOKEN_TTL: _ttl, ...settings } = E2E;
  const root = path.resolve(import.meta.dirname, "..");
  const run = spawnSync(
    path.join(root, "node_modules", ".bin", "tsx"),
    ["lib/cli/main.ts", "client", "set", "demo/default", "demo-web", "--mfa-policy", policy],
    { cwd: root, env: { ...process.env, ...settings }, encoding: "utf8" },
  );
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
}

const LOGIN_CLIENT = `Basic ${Buffer.from(`demo-web:${E2E.LOGIN_CLIENT_SECRET}`).toString("base64")}`;

/**
 * Waits until the server applies the policy just set: each process caches client settings for
 * CONFIG_CACHE_SECONDS (10 s by default), so the change is not seen at once. A user without a
 * factor is asked for one (403 mfa_required) under `required`, and signed in (200) otherwise.
 */
async function untilPolicyApplies(request: APIRequestContext, required: boolean) {
  await expect
    .poll(
      async () => {
        const res = await request.post(`${ISSUER}/oauth2/token`, {
          headers: { Authorization: LOGIN_CLIENT },
          form: { grant_type: "password", username: "mfa-policy-probe", password: "mfa-policy-probe-password-1", scope: "openid" },
        });
        return res.status();
      },
      { timeout: 30_000, intervals: [500] },
    )
    .toBe(required ? 403 : 200);
}

async function sessionCookie(page: Page) {
  return (await page.context().cookies()).find((c) => c.name === "next-auth.session-token");
}

// The `required` policy: a user without a factor enrols during the sign-in. The login app signs in
// through one client (demo-web) of one workspace, and the policy is per workspace or client, not
// per user: these tests can only set demo-web's policy to `required` for their own duration. That
// is safe because the suite runs one test at a time (playwright.config.ts: one worker, not fully
// parallel) and this group is serial; afterAll (which runs even when a test or beforeAll fails)
// sets it back, and both hooks wait until the server applies the change, since its config cache
// would otherwise keep the old policy for up to CONFIG_CACHE_SECONDS, into the next tests.
test.describe("when demo-web's policy is required", () => {
  test.describe.configure({ mode: "serial" });
  test.beforeAll(async ({ request }) => {
    setLoginClientPolicy("required");
    await untilPolicyApplies(request, true);
  });
  test.afterAll(async ({ request }) => {
    setLoginClientPolicy("inherit");
    await untilPolicyApplies(request, false);
  });

  test("a user without a factor enrols during sign-in, and only then is signed in", async ({ page }) => {
    await signIn(page, "mfa-required", "mfa-required-password-1");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Set up two-step verification");
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole("img", { name: /QR code/ })).toHaveAttribute("src", /^data:image\/svg\+xml;base64,/);
    const secret = (await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "");
    expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
    await expect(page.getByLabel("Authentication code")).toBeFocused();
    expect(await page.evaluate(() => document.cookie)).toBe("");
    expect(await page.content()).not.toMatch(/mfa_token|mfaToken/);
    await expectNoAxeViolations(page, "enrolment during sign-in");

    // No session yet: the account page sends the user back to the sign-in, which is still at its step.
    expect(await sessionCookie(page)).toBeUndefined();
    await page.goto("/account");
    await expect(page).toHaveURL(/\/login(\?|$)/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Set up two-step verification");
    expect((await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "")).toBe(secret);

    // A wrong code keeps the step.
    const right = new Set([totp(secret, -1), totp(secret), totp(secret, 1)]);
    const wrong = ["000000", "111111", "222222"].find((c) => !right.has(c))!;
    await page.getByLabel("Authentication code").fill(wrong);
    await page.getByRole("button", { name: "Verify and continue" }).click();
    await expect(page.getByTestId("login-message")).toHaveText("That code didn't work. Check your authenticator app and try again.");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Set up two-step verification");

    await page.getByLabel("Authentication code").fill(totp(secret));
    await page.getByRole("button", { name: "Verify and continue" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Two-step verification is on");
    const codes = page.getByTestId("recovery-codes").locator("li");
    await expect(codes).toHaveCount(10);
    const recoveryCodes = await codes.allTextContents();
    for (const code of recoveryCodes) expect(code).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
    await expectNoAxeViolations(page, "recovery codes during sign-in");
    // Still no session while the recovery codes are on screen: the tokens wait, sealed.
    expect(await sessionCookie(page)).toBeUndefined();
    const account = await page.request.get("/account", { maxRedirects: 0 });
    expect(account.status()).toBeGreaterThanOrEqual(300);
    expect(account.status()).toBeLessThan(400);
    expect(account.headers().location).toMatch(/\/login(\?|$)/);

    await page.getByRole("button", { name: "I have saved them, continue" }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("mfa-required Example");
    await expect(page.getByTestId("two-step-status")).toContainText("Two-step verification is on");
    expect((await sessionClaims(page)).amr).toEqual(["pwd", "otp", "mfa"]);
    expect((await page.context().cookies()).find((c) => c.name === "login-mfa-step")).toBeUndefined();
    // Shown once: the sign-in has nothing left to show.
    await page.goto("/login");
    await expect(page).toHaveURL(/\/account$/);

    // Enrolled: the next sign-in asks for a code, and a recovery code shown at enrolment works.
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
    await expect(page).toHaveURL(/\/login\?reason=signed_out$/);
    await signIn(page, "mfa-required", "mfa-required-password-1");
    await page.getByRole("link", { name: "Use a recovery code instead" }).click();
    await page.getByLabel("Recovery code").fill(recoveryCodes[0]!);
    await page.getByRole("button", { name: "Verify" }).click();
    await expect(page).toHaveURL(/\/account$/);
    expect((await sessionClaims(page)).amr).toEqual(["pwd", "mfa"]);
  });

  test("a user with the longest name and address enrols during sign-in: the step waits in chunks, then the session begins", async ({ page, context }) => {
    const { username, name } = LONG_DETAILS_MFA_USER;
    await signIn(page, username, `${username}-password-1`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Set up two-step verification");
    const secret = (await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "");
    await page.getByLabel("Authentication code").fill(totp(secret));
    await page.getByRole("button", { name: "Verify and continue" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Two-step verification is on");
    // The tokens and the recovery codes wait, sealed, in more than one cookie: a browser keeps none over 4 kB.
    const stepCookies = async () => (await context.cookies()).filter((c) => c.name.startsWith("login-mfa-step")).map((c) => c.name);
    expect((await stepCookies()).sort()).toEqual(["login-mfa-step.0", "login-mfa-step.1"]);
    await page.getByRole("button", { name: "I have saved them, continue" }).click();
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
    expect(JSON.parse((await page.getByTestId("access-token-claims").textContent()) ?? "{}").amr).toEqual(["pwd", "otp", "mfa"]);
    expect(await stepCookies()).toEqual([]);
  });

  test("an enrolment step that expired sends the user back to the password, and enrols nothing", async ({ page }) => {
    await signIn(page, "mfa-required-expired", "mfa-required-expired-password-1");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Set up two-step verification");
    const secret = (await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "");
    // The sealed step lives 5 minutes: without it the code cannot be used.
    await page.context().clearCookies({ name: "login-mfa-step" });
    await page.getByLabel("Authentication code").fill(totp(secret));
    await page.getByRole("button", { name: "Verify and continue" }).click();
    await expect(page).toHaveURL(/\/login\?reason=mfa_expired/);
    await expect(page.getByTestId("login-message")).toHaveText("Your sign-in timed out or had too many wrong codes. Please enter your password again.");
    await expect(page.getByLabel("Password")).toBeVisible();
    expect(await sessionCookie(page)).toBeUndefined();

    // The factor was never confirmed: the next sign-in enrols again, with a new secret.
    await signIn(page, "mfa-required-expired", "mfa-required-expired-password-1");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Set up two-step verification");
    expect((await page.getByTestId("totp-secret").textContent())!.replace(/\s/g, "")).not.toBe(secret);
  });

  for (const [name, width, height] of [
    ["narrow", 320, 640],
    ["desktop", 1280, 800],
  ] as const) {
    for (const colorScheme of ["light", "dark"] as const) {
      test(`the enrolment during sign-in passes axe and fits ${width}px in ${colorScheme} mode`, async ({ browser }, testInfo) => {
        const context = await browser.newContext({ viewport: { width, height }, colorScheme });
        try {
          const page = await context.newPage();
          await signIn(page, "mfa-required-shots", "mfa-required-shots-password-1");
          await expect(page.getByTestId("totp-secret")).toBeVisible();
          await expect(page.getByRole("img", { name: /QR code/ })).toBeVisible();
          expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
          await expectNoAxeViolations(page, `enrolment during sign-in, ${width}px, ${colorScheme}`);
          await page.screenshot({
            fullPage: true,
            path: process.env.SCREENSHOTS
              ? path.join(import.meta.dirname, "screenshots", `mfa-signin-enrol-${name}-${colorScheme}.png`)
              : testInfo.outputPath("mfa-signin-enrol.png"),
          });
        } finally {
          await context.close();
        }
      });
    }
  }
});
