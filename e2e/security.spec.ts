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
