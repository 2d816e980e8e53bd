import { expect, test, type Page } from "@playwright/test";
import { decode } from "next-auth/jwt";
import { E2E, LONG_DETAILS_USER } from "./env.ts";

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The tokens inside the encrypted session cookie, read with the server's secret. */
async function sessionTokens(page: Page) {
  const cookie = (await page.context().cookies()).find((c) => c.name === "next-auth.session-token");
  expect(cookie, "session cookie").toBeDefined();
  const jwt = await decode({ token: cookie!.value, secret: E2E.NEXTAUTH_SECRET });
  return jwt!.tokens!;
}

async function introspect(page: Page, token: string) {
  const res = await page.request.post("/demo/default/oauth2/introspect", {
    form: { token },
    headers: { Authorization: `Basic ${Buffer.from("demo-backend:demo-backend-secret").toString("base64")}` },
  });
  expect(res.status()).toBe(200);
  return res.json();
}

test("alice signs in and sees her name, email and token claims", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await signIn(page, "alice", "alice-password-1");
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Alice Example");
  await expect(page.getByTestId("account-email")).toHaveText("alice@example.com");
  await expect(page.getByTestId("access-token-header")).toContainText('"typ": "at+jwt"');
  await expect(page.getByTestId("access-token-claims")).toContainText('"client_id": "demo-web"');
  await expect(page.getByTestId("id-token-claims")).toContainText('"email": "alice@example.com"');
  await expect(page.getByTestId("access-token-countdown")).toHaveText(/^\d+ s$|^expired$/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/account$/);
});

// Between pages the production server turns Next's storages off once none has been under way
// for a second (lib/platform/page-storages.ts); a sign-in that takes a person longer than that,
// and a page read a while after it, find them again.
test("a sign-in after a quiet moment, and a page after another, work as any other", async ({ page }) => {
  await page.goto("/login");
  await page.waitForTimeout(1500);
  await signIn(page, "alice", "alice-password-1");
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Alice Example");
  await page.waitForTimeout(1500);
  await page.reload();
  await expect(page.getByTestId("account-email")).toHaveText("alice@example.com");
  await expect(page.getByTestId("id-token-claims")).toContainText('"email": "alice@example.com"');
});

test("the session never hands the refresh token or the access token to the browser", async ({ page }) => {
  await page.goto("/login");
  await signIn(page, "alice", "alice-password-1");
  await expect(page).toHaveURL(/\/account$/);
  const tokens = await sessionTokens(page);
  const session = await page.request.get("/api/auth/session");
  const body = await session.text();
  expect(JSON.parse(body)).toEqual({ user: { name: "Alice Example", email: "alice@example.com" }, expires: expect.any(String) });
  const html = await page.content();
  for (const secret of [tokens.refreshToken!, tokens.accessToken, tokens.idToken]) {
    expect(body).not.toContain(secret);
    expect(html).not.toContain(secret);
  }
  const cookie = (await page.context().cookies()).find((c) => c.name === "next-auth.session-token")!;
  expect(cookie.httpOnly).toBe(true);
  expect(cookie.sameSite).toBe("Lax");
});

for (const [who, username, password] of [
  ["a wrong password", "alice", "wrong-password"],
  ["an unknown user", "nobody", "alice-password-1"],
  ["disabled carol", "carol", "carol-password-1"],
] as const) {
  test(`${who} sees the generic message and stays on /login with the username kept`, async ({ page }) => {
    await page.goto("/login");
    await signIn(page, username, password);
    await expect(page.getByTestId("login-message")).toHaveText("Invalid username or password");
    await expect(page).toHaveURL(/\/login/);
    await expect(page.getByLabel("Username")).toHaveValue(username);
    await expect(page.getByLabel("Password")).toHaveValue("");
  });
}

/** bob signs in, then "Sign out": the refresh token is revoked, the session cookie gone, and /account sends to /login. */
async function signOutEndsSession(page: Page) {
  await page.goto("/login");
  await signIn(page, "bob", "bob-password-1");
  await expect(page).toHaveURL(/\/account$/);
  const { refreshToken } = await sessionTokens(page);
  expect((await introspect(page, refreshToken!)).active).toBe(true);
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed_out$/);
  await expect(page.getByTestId("login-message")).toHaveText("You have signed out.");
  expect((await page.context().cookies()).find((c) => c.name === "next-auth.session-token")).toBeUndefined();
  await page.goto("/account");
  await expect(page).toHaveURL(/\/login$/);
  expect(await introspect(page, refreshToken!)).toEqual({ active: false });
}

test("sign out revokes the refresh token and ends the session", async ({ page }) => {
  await signOutEndsSession(page);
});

// Needs the authorization server to end a session's access tokens when sign-out revokes its
// refresh token (RFC 7009 §2.1).
test("a session cookie copied before sign-out is refused when replayed after it", async ({ page, browser }) => {
  await page.goto("/login");
  await signIn(page, "alice", "alice-password-1");
  await expect(page).toHaveURL(/\/account$/);
  const copied = (await page.context().cookies()).find((c) => c.name === "next-auth.session-token")!;
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed_out$/);

  const replay = await browser.newContext();
  try {
    await replay.addCookies([copied]);
    const attacker = await replay.newPage();
    await attacker.goto("/account");
    await expect(attacker).toHaveURL(/\/login\?reason=expired$/);
    await expect(attacker.getByTestId("login-message")).toHaveText("Your session has ended. Please sign in again.");
    await expect(attacker.getByText("alice@example.com")).toHaveCount(0);
    expect((await replay.cookies()).find((c) => c.name === "next-auth.session-token")).toBeUndefined();
  } finally {
    await replay.close();
  }
});

test("the session survives an access-token expiry, with the tokens visibly rotated", async ({ page }) => {
  await page.goto("/login");
  await signIn(page, "alice", "alice-password-1");
  await expect(page).toHaveURL(/\/account$/);
  const claims = async () => JSON.parse((await page.getByTestId("access-token-claims").textContent()) ?? "{}");
  const first = await claims();
  const before = await sessionTokens(page);
  // Past the access token's expiry (E2E.ACCESS_TOKEN_TTL seconds).
  await page.waitForTimeout((E2E.ACCESS_TOKEN_TTL + 1) * 1000);
  await page.reload();
  await expect(page).toHaveURL(/\/account$/);
  const second = await claims();
  expect(second.jti).not.toBe(first.jti);
  expect(second.exp).toBeGreaterThan(first.exp);
  const after = await sessionTokens(page);
  expect(after.refreshToken).not.toBe(before.refreshToken);
  expect(await introspect(page, before.refreshToken!)).toEqual({ active: false });
  expect((await introspect(page, after.refreshToken!)).active).toBe(true);
});

test("a session too long for one cookie (the longest name and address) signs in, and survives a refresh in chunks", async ({ page, context }) => {
  await page.goto("/login");
  await signIn(page, LONG_DETAILS_USER.username, `${LONG_DETAILS_USER.username}-password-1`);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(LONG_DETAILS_USER.name);
  // next-auth splits a value over ~4 kB into numbered cookies, as a browser keeps none longer.
  const sessionCookies = async () => (await context.cookies()).filter((c) => c.name.startsWith("next-auth.session-token")).map((c) => c.name);
  expect((await sessionCookies()).sort()).toEqual(["next-auth.session-token.0", "next-auth.session-token.1"]);
  const first = JSON.parse((await page.getByTestId("access-token-claims").textContent()) ?? "{}");
  // Past the access token's expiry (E2E.ACCESS_TOKEN_TTL seconds): the proxy refreshes and writes the chunks again.
  await page.waitForTimeout((E2E.ACCESS_TOKEN_TTL + 1) * 1000);
  await page.reload();
  await expect(page).toHaveURL(/\/account$/);
  const second = JSON.parse((await page.getByTestId("access-token-claims").textContent()) ?? "{}");
  expect(second.jti).not.toBe(first.jti);
  await page.reload();
  await expect(page.getByTestId("account-email")).toHaveText(LONG_DETAILS_USER.email);
  expect((await sessionCookies()).sort()).toEqual(["next-auth.session-token.0", "next-auth.session-token.1"]);
  // Sign-out deletes every chunk.
  await page.getByRole("button", { name: "Sign out", exact: true }).click();
  await expect(page).toHaveURL(/\/login\?reason=signed_out$/);
  expect(await sessionCookies()).toEqual([]);
});

test("a callbackUrl on another origin is ignored", async ({ page }) => {
  await page.goto("/login?callbackUrl=https%3A%2F%2Fevil.example%2Fsteal");
  await signIn(page, "alice", "alice-password-1");
  await expect(page).toHaveURL(`${E2E.APP_URL}/account`);
});

for (const callbackUrl of [
  "/.//evil.example",
  "/a/..//evil.example",
  `${E2E.APP_URL}//evil.example`,
  `${E2E.APP_URL}/\\evil.example`,
  "/%2F%2Fevil.example",
  "/\t/evil.example",
]) {
  test(`a callbackUrl that normalises to another host (${JSON.stringify(callbackUrl)}) is ignored`, async ({ page }) => {
    await page.goto(`/login?callbackUrl=${encodeURIComponent(callbackUrl)}`);
    await signIn(page, "alice", "alice-password-1");
    await expect(page).toHaveURL(`${E2E.APP_URL}/account`);
  });
}

test("a callbackUrl on this origin is honoured", async ({ page }) => {
  await page.goto("/login?callbackUrl=%2Faccount%3Ffrom%3Dtest");
  await signIn(page, "alice", "alice-password-1");
  await expect(page).toHaveURL(`${E2E.APP_URL}/account?from=test`);
});

test("the form is keyboard friendly", async ({ page }) => {
  await page.goto("/login");
  await page.getByLabel("Username").focus();
  await page.keyboard.type("alice");
  await page.keyboard.press("Tab");
  await page.keyboard.type("alice-password-1");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/account$/);
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("alice signs in with the form posted to the server; the password is never in a URL", async ({ page }) => {
    const urls: string[] = [];
    page.on("request", (r) => urls.push(r.url()));
    await page.goto("/login?callbackUrl=%2Faccount%3Ffrom%3Dnojs");
    await signIn(page, "alice", "alice-password-1");
    await expect(page).toHaveURL(`${E2E.APP_URL}/account?from=nojs`);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Alice Example");
    expect(urls.length).toBeGreaterThan(1);
    for (const url of urls) expect(url).not.toContain("alice-password-1");
  });

  test("a wrong password comes back to the form with the generic message", async ({ page }) => {
    const urls: string[] = [];
    page.on("request", (r) => urls.push(r.url()));
    await page.goto("/login");
    await signIn(page, "alice", "wrong-password");
    await expect(page).toHaveURL(/\/login\?/);
    await expect(page.getByTestId("login-message")).toHaveText("Invalid username or password");
    for (const url of urls) expect(url).not.toContain("wrong-password");
    // Read where the form starts again: the page loads with the focus there, the message its description.
    await expect(page.getByLabel("Username")).toBeFocused();
    await expect(page.getByLabel("Username")).toHaveAccessibleDescription("Invalid username or password");
    await expect(page.getByLabel("Username")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel("Password", { exact: true })).toHaveAccessibleDescription("Invalid username or password");
  });

  test("sign out is a form posted to the server: it revokes the refresh token and ends the session", async ({ page }) => {
    await signOutEndsSession(page);
  });

  test("a post from another site is refused", async ({ request }) => {
    const res = await request.post("/login/submit", {
      form: { username: "alice", password: "alice-password-1" },
      headers: { Origin: "https://evil.example" },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(403);
    expect(res.headers()["set-cookie"] ?? "").not.toContain("session-token");
  });

  test("a sign-out posted from another site is refused, and the session lives on", async ({ page }) => {
    await page.goto("/login");
    await signIn(page, "bob", "bob-password-1");
    await expect(page).toHaveURL(/\/account$/);
    const { refreshToken } = await sessionTokens(page);
    const res = await page.request.post("/account/sign-out", { headers: { Origin: "https://evil.example" }, maxRedirects: 0 });
    expect(res.status()).toBe(403);
    expect(res.headers()["set-cookie"]).toBeUndefined();
    expect((await introspect(page, refreshToken!)).active).toBe(true);
    await page.goto("/account");
    await expect(page).toHaveURL(/\/account$/);
  });
});

test("an empty submit asks for the missing field on that field, without a request", async ({ page }) => {
  await page.goto("/login");
  const posts: string[] = [];
  page.on("request", (r) => {
    if (r.method() === "POST") posts.push(r.url());
  });
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByLabel("Username")).toBeFocused();
  expect(await page.getByLabel("Username").evaluate((el: HTMLInputElement) => el.validity.valueMissing && el.validationMessage !== "")).toBe(true);
  await page.getByLabel("Username").fill("alice");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByLabel("Password")).toBeFocused();
  expect(await page.getByLabel("Password").evaluate((el: HTMLInputElement) => el.validity.valueMissing)).toBe(true);
  await expect(page.getByTestId("login-message")).toHaveText("");
  expect(posts).toEqual([]);
});

// The README's pictures are e2e/pages.spec.ts's; these go to the test's output folder.
for (const [name, width, height] of [
  ["narrow", 320, 640],
  ["desktop", 1280, 800],
] as const) {
  for (const colorScheme of ["light", "dark"] as const) {
    test(`no page scrolls sideways at ${width}px in ${colorScheme} mode`, async ({ browser }, testInfo) => {
      const context = await browser.newContext({ viewport: { width, height }, colorScheme });
      try {
        const page = await context.newPage();
        const check = async (file: string) => {
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          expect(overflow, `${file} scrolls sideways by ${overflow}px`).toBe(0);
          await page.screenshot({ fullPage: true, path: testInfo.outputPath(`${file}-${name}-${colorScheme}.png`) });
        };
        await page.goto("/login");
        await check("login");
        await signIn(page, "alice", "wrong-password");
        await expect(page.getByTestId("login-message")).toHaveText("Invalid username or password");
        await check("login-error");
        await signIn(page, "alice", "alice-password-1");
        await expect(page).toHaveURL(/\/account$/);
        await expect(page.getByRole("heading", { name: "Your sessions" })).toBeVisible();
        await check("account");
      } finally {
        await context.close();
      }
    });
  }
}

/** WCAG 2.2 relative luminance contrast of two computed `rgb(r, g, b)` colours. */
function contrast(a: string, b: string): number {
  const luminance = (rgb: string) => {
    const [r, g, bl] = (rgb.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((c) => {
      const s = Number(c) / 255;
      return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

test("in dark mode the focus ring stands out 3:1 from the page and the error box is dark", async ({ browser }) => {
  const context = await browser.newContext({ colorScheme: "dark" });
  try {
    const page = await context.newPage();
    await page.goto("/login");
    await signIn(page, "alice", "wrong-password");
    await expect(page.getByTestId("login-message")).toHaveText("Invalid username or password");
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    for (const target of [page.getByLabel("Username"), page.getByRole("button", { name: "Sign in" })]) {
      await target.focus();
      await page.keyboard.press("Shift+Tab");
      await page.keyboard.press("Tab");
      const ring = await target.evaluate((el) => getComputedStyle(el).outlineColor);
      expect(contrast(ring, background), `${ring} on ${background}`).toBeGreaterThanOrEqual(3);
    }
    const box = await page.getByTestId("login-message").evaluate((el) => getComputedStyle(el).backgroundColor);
    // A dark box: its text (light) reads on it, and it is not the light-mode pink.
    expect(contrast(box, "rgb(0, 0, 0)")).toBeLessThan(2);
  } finally {
    await context.close();
  }
});
