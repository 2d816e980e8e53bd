import { expect, test } from "@playwright/test";

test("pages carry a nonce-based CSP that forbids framing, and the page runs under it", async ({ page }) => {
  const violations: string[] = [];
  page.on("console", (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
  });
  const res = await page.goto("/login");
  const headers = res!.headers();
  const csp = headers["content-security-policy"]!;
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]{20,}' 'strict-dynamic'/);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(csp).not.toContain("unsafe-eval");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("no-referrer");
  expect(headers["x-frame-options"]).toBe("DENY");
  const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
  const scripts = await page.locator("script[src]").evaluateAll((els) => els.map((e) => (e as HTMLScriptElement).nonce));
  expect(scripts.length).toBeGreaterThan(0);
  for (const n of scripts) expect(n).toBe(nonce);
  // The form is hydrated: a failed sign-in shows the message without leaving the page.
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("login-message")).toHaveText("Invalid username or password");
  expect(violations).toEqual([]);
});

test("a new nonce on every page load", async ({ page }) => {
  const a = (await page.goto("/login"))!.headers()["content-security-policy"];
  const b = (await page.goto("/login"))!.headers()["content-security-policy"];
  expect(a).not.toBe(b);
});

test("the OAuth endpoints answer JSON that cannot be framed or sniffed", async ({ request }) => {
  const res = await request.post("/demo/default/oauth2/token", { form: { grant_type: "password" } });
  expect(res.status()).toBe(401);
  expect(res.headers()["content-security-policy"]).toBe("default-src 'none'; frame-ancestors 'none'");
  expect(res.headers()["x-content-type-options"]).toBe("nosniff");
});

test("no page sends HSTS over http (the e2e server's APP_URL is http)", async ({ request }) => {
  for (const path of ["/login", "/no-such-page", "/demo/default/.well-known/openid-configuration"]) {
    const res = await request.get(path);
    expect(res.headers()["strict-transport-security"], path).toBeUndefined();
  }
});

// The second: a path under the authorization server's that no endpoint answers, which Next's 404 page
// answers as it does any other (the login app's proxy runs on it: lib/login/proxy.test.ts).
for (const missing of ["/no-such-page", "/demo/default/account/no-such-endpoint"]) {
  test(`a page that does not exist (${missing}) is a 404 with the pages' CSP and security headers`, async ({ page }) => {
    const violations: string[] = [];
    page.on("console", (msg) => {
      if (/Content Security Policy|Refused to/i.test(msg.text())) violations.push(msg.text());
    });
    const res = (await page.goto(missing))!;
    expect(res.status()).toBe(404);
    const headers = res.headers();
    const csp = headers["content-security-policy"]!;
    expect(csp).toMatch(/^default-src 'self'; script-src 'self' 'nonce-[A-Za-z0-9+/=]{20,}' 'strict-dynamic'; /);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(headers["x-content-type-options"]).toBe("nosniff");
    expect(headers["referrer-policy"]).toBe("no-referrer");
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["permissions-policy"]).toBe("camera=(), microphone=(), geolocation=(), payment=()");
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Page not found");
    await expect(page).toHaveTitle("Page not found");
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    const scripts = await page.locator("script[src]").evaluateAll((els) => els.map((e) => (e as HTMLScriptElement).nonce));
    expect(scripts.length).toBeGreaterThan(0);
    for (const n of scripts) expect(n).toBe(nonce);
    // Hydrated under the CSP: the link navigates client-side to the start page (then /login).
    await page.getByRole("link", { name: "Go to the start page" }).click();
    await expect(page).toHaveURL(/\/login$/);
    expect(violations).toEqual([]);
  });
}

for (const [pageName, path, heading] of [
  ["404", "/no-such-page", "Page not found"],
  ["login", "/login", "Sign in"],
] as const) {
  for (const [name, width, height] of [
    ["narrow", 320, 640],
    ["desktop", 1000, 700],
  ] as const) {
    for (const colorScheme of ["light", "dark"] as const) {
      test(`the ${pageName} page fits a ${name} screen (${width}px) in ${colorScheme} mode`, async ({ browser }, testInfo) => {
        const context = await browser.newContext({ viewport: { width, height }, colorScheme });
        try {
          const page = await context.newPage();
          await page.goto(path);
          await expect(page.getByRole("heading", { level: 1 })).toHaveText(heading);
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          expect(overflow).toBe(0);
          // At least a 1rem margin on both sides.
          const box = (await page.locator("main").boundingBox())!;
          expect(box.x).toBeGreaterThanOrEqual(16);
          expect(box.x + box.width).toBeLessThanOrEqual(width - 16);
          await page.screenshot({ path: testInfo.outputPath(`${pageName}-${name}-${colorScheme}.png`) });
        } finally {
          await context.close();
        }
      });
    }
  }
}

test("the credentials callback answers GET with 405 and Allow: POST", async ({ request }) => {
  const res = await request.get("/api/auth/callback/credentials", { maxRedirects: 0 });
  expect(res.status()).toBe(405);
  expect(res.headers()["allow"]).toBe("POST");
});

test("the authorization server's paths do not pass through the login app's proxy", async ({ request }) => {
  for (const path of [
    "/demo/default/.well-known/openid-configuration",
    "/demo/default/.well-known/jwks.json",
    "/demo/default/userinfo",
    "/demo/default/mfa/authenticators",
    "/nope/nope/oauth2/token",
  ]) {
    const res = await request.get(path);
    expect(res.headers()["content-security-policy"] ?? "", path).not.toContain("nonce-");
  }
});

test("the favicon is served, and no tab title shows protocol jargon", async ({ page, request }) => {
  const icon = await request.get("/favicon.ico");
  expect(icon.status()).toBe(200);
  expect(icon.headers()["content-type"]).toContain("image/");
  await page.goto("/login");
  await expect(page).toHaveTitle("Sign in");
  await page.goto("/no-such-page");
  expect(await page.title()).not.toMatch(/ROPC|OAuth|OIDC/i);
});
