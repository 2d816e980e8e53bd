import { expect, test, type Page } from "@playwright/test";
import { LOCKOUT_USERS } from "./env.ts";

/** Wrong passwords for `username` until the server locks it out (five, or none if it is already). */
async function lockOut(page: Page, username: string) {
  for (let i = 0; i < 6; i++) {
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password", { exact: true }).fill("wrong-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    const message = page.getByTestId("login-message");
    await expect(message).toHaveText(/Invalid username or password|Too many sign-in attempts/);
    if ((await message.textContent())?.startsWith("Too many")) return;
    // The next submit comes from the form the page rendered again (without script, a new page).
    await expect(page.getByRole("button", { name: "Sign in" })).toBeEnabled();
  }
  throw new Error(`${username} was not locked out`);
}

test("a lockout says how long in words and counts down to the end", async ({ page }) => {
  // When the lockout ends, as the server said it (next-auth's answer carries the error code
  // `too_many_attempts:<end, epoch seconds>`): the window runs from the oldest counted failure,
  // so the five attempts' own time (seconds under load) is already spent of it.
  let until: number | undefined;
  page.on("response", async (res) => {
    if (!res.url().includes("/api/auth/callback/credentials")) return;
    const { url } = ((await res.json().catch(() => ({}))) ?? {}) as { url?: string };
    const code = url ? new URL(url, page.url()).searchParams.get("error") : null;
    const end = code && /^too_many_attempts:(\d+)$/.exec(code)?.[1];
    if (end) until = Number(end) * 1000;
  });
  await page.clock.install();
  await page.goto("/login");
  await lockOut(page, LOCKOUT_USERS[0]);
  const message = page.getByTestId("login-message");
  // LOCKOUT_WINDOW_SECONDS is 900, and the attempts took less than a minute.
  await expect(message).toHaveText("Too many sign-in attempts. Try again in 15 minutes.");
  await expect.poll(() => until).toBeGreaterThan(Date.now());
  const end = until!;
  // The page's clock stops at each point before its end, and the countdown says exactly that.
  await page.clock.pauseAt(end - 300_000);
  await expect(message).toHaveText("Too many sign-in attempts. Try again in 5 minutes.");
  await page.clock.pauseAt(end - 60_000);
  await expect(message).toHaveText("Too many sign-in attempts. Try again in 1 minute.");
  await page.clock.pauseAt(end - 30_000);
  await expect(message).toHaveText("Too many sign-in attempts. Try again in 30 seconds.");
  await page.clock.pauseAt(end + 1_000);
  await expect(message).toHaveText("You can try to sign in again now.");
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("a lockout's wait is in the page the server renders, and the password never in a URL", async ({ page }) => {
    const urls: string[] = [];
    page.on("request", (r) => urls.push(r.url()));
    await page.goto("/login");
    await lockOut(page, LOCKOUT_USERS[1]);
    await expect(page.getByTestId("login-message")).toHaveText(/^Too many sign-in attempts\. Try again in 15 minutes\.$/);
    expect(new URL(page.url()).searchParams.get("error")).toMatch(/^too_many_attempts:\d+$/);
    expect(urls.join("\n")).not.toContain("wrong-password");
    // No toggle that cannot work: the password field is a plain one.
    await expect(page.getByRole("button", { name: "Show password" })).toHaveCount(0);
  });
});

test("Show password shows it and says Hide password, then hides it again", async ({ page }) => {
  await page.goto("/login");
  const password = page.getByLabel("Password", { exact: true });
  await password.fill("alice-password-1");
  await expect(password).toHaveAttribute("type", "password");
  await page.getByRole("button", { name: "Show password" }).click();
  await expect(password).toHaveAttribute("type", "text");
  await page.getByRole("button", { name: "Hide password" }).click();
  await expect(password).toHaveAttribute("type", "password");
  await expect(page.getByRole("button", { name: "Show password" })).toBeVisible();
});

test("typing the password with Caps Lock on says so, and the hint goes when it is off", async ({ page }) => {
  await page.goto("/login");
  const password = page.getByLabel("Password", { exact: true });
  const hint = page.getByTestId("caps-lock-hint");
  const press = (capsLock: boolean) =>
    password.evaluate((el, on) => {
      for (const type of ["keydown", "keyup"]) el.dispatchEvent(new KeyboardEvent(type, { key: on ? "A" : "a", modifierCapsLock: on, bubbles: true }));
    }, capsLock);
  await password.focus();
  await expect(hint).toHaveText("");
  await press(true);
  await expect(hint).toHaveText("Caps Lock is on");
  await expect(password).toHaveAttribute("aria-describedby", "password-caps-lock");
  await press(false);
  await expect(hint).toHaveText("");
});

test("while signing in the button says Signing in… and the fields are locked", async ({ page }) => {
  await page.goto("/login");
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/api/auth/callback/credentials*", async (route) => {
    await held;
    await route.continue();
  });
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password", { exact: true }).fill("alice-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("button", { name: "Signing in…" })).toBeDisabled();
  await expect(page.getByLabel("Username")).toBeDisabled();
  await expect(page.getByLabel("Password", { exact: true })).toBeDisabled();
  release();
  await expect(page).toHaveURL(/\/account$/);
});

test("an error appears without moving the fields or the button", async ({ page }) => {
  await page.goto("/login");
  const box = async () =>
    Promise.all(
      [page.getByLabel("Username"), page.getByLabel("Password", { exact: true }), page.getByRole("button", { name: "Sign in" })].map((l) => l.boundingBox()),
    );
  const before = await box();
  await page.getByLabel("Username").fill("bob");
  await page.getByLabel("Password", { exact: true }).fill("wrong-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("login-message")).toHaveText("Invalid username or password");
  expect(await box()).toEqual(before);
  // bob's failure is forgiven: later tests start from nothing.
  await page.getByLabel("Password", { exact: true }).fill("bob-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/account$/);
});

for (const reducedMotion of ["reduce", "no-preference"] as const) {
  test(`prefers-reduced-motion: ${reducedMotion} ${reducedMotion === "reduce" ? "turns transitions off" : "keeps the short ones"}`, async ({ browser }) => {
    const context = await browser.newContext({ reducedMotion });
    try {
      const page = await context.newPage();
      await page.goto("/login");
      const durations = await page.evaluate(() =>
        [...document.querySelectorAll("*")].flatMap((el) => {
          const style = getComputedStyle(el);
          return [style.transitionDuration, style.animationDuration].filter((d) => d.split(",").some((part) => parseFloat(part) > 0));
        }),
      );
      if (reducedMotion === "reduce") expect(durations).toEqual([]);
      else expect(durations.length).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
}
