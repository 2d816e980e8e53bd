import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { timeStep, totpCodeAt } from "@/lib/oauth/mfa/totp.ts";
import { confirmFactor, startEnrolment } from "@/lib/oauth/store/mfa.ts";
import { inProcessFetch } from "@/lib/testing/oauth.ts";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { passwordSignIn, setFetchForTests } from "@/lib/login/token-client.ts";
import {
  AccountApiError,
  changePassword,
  endOtherSessions,
  endSession,
  getProfile,
  hasAccountApi,
  listSessions,
  passwordRules,
  recentActivity,
} from "@/lib/login/account-api.ts";
import {
  accountError,
  accountNotice,
  activityInWords,
  asksForCode,
  rulesInWords,
  submitEndSession,
  submitPasswordChange,
  submitCancelEmailChange,
  submitProfile,
  timeAgo,
} from "@/lib/login/account-page.ts";
import { accountFormSubmit, destinationOf } from "@/lib/login/account-forms.ts";
import { flushAudit } from "@/lib/platform/audit.ts";
import { settings } from "@/lib/platform/env.ts";
import { startSmtpServer } from "@/lib/testing/smtp.ts";

// The login app speaks HTTP only: its requests are answered in-process by the real route handlers.
const requests: string[] = [];
beforeEach(() => {
  requests.length = 0;
  setFetchForTests((async (input: string | URL | Request, init?: RequestInit) => {
    const request = new Request(input, init);
    requests.push(`${request.method} ${new URL(request.url).pathname}`);
    return inProcessFetch(request);
  }) as typeof fetch);
});
// The notices a test's changes mail go out after its answers: none of them reaches the next test's mail server.
afterEach(async () => {
  setFetchForTests(undefined);
  await backgroundSettled();
});

const CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";
const signInBob = () => passwordSignIn("bob", "bob-password-1", { ip: "203.0.113.5", userAgent: CHROME });

describe("the login app's account API client", () => {
  it("finds the account API and the password rules through discovery", async () => {
    expect(await hasAccountApi()).toBe(true);
    expect(await passwordRules()).toEqual({ minLength: 8, maxLength: 1024, rejects: ["common", "username", "email"] });
    expect(rulesInWords(await passwordRules())).toEqual([
      "At least 8 characters. Longer is stronger: a few unrelated words make a good password.",
      "Not a commonly used password.",
      "Not built on your username or email address.",
    ]);
  });

  it("lists the sessions with the browser and address it forwarded at sign-in, and ends them", async () => {
    const other = await signInBob();
    const { tokens } = await signInBob();
    const sessions = await listSessions(tokens.accessToken);
    expect(sessions[0]).toMatchObject({ clientId: "demo-web", ip: "203.0.113.5", userAgent: CHROME, current: true });
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    const otherId = sessions.find((s) => !s.current)!.id;
    await endSession(tokens.accessToken, otherId);
    expect(requests).toContain(`DELETE /demo/default/account/sessions/${otherId}`);
    expect((await listSessions(tokens.accessToken)).map((s) => s.id)).not.toContain(otherId);
    // Ended already: the page treats it as done.
    expect(await submitEndSession(tokens.accessToken, otherId)).toEqual({ notice: "session_ended" });
    await expect(listSessions(other.tokens.accessToken)).rejects.toEqual(new AccountApiError("ended"));
    await endOtherSessions(tokens.accessToken);
    expect((await listSessions(tokens.accessToken)).every((s) => s.current)).toBe(true);
  });

  it("takes a 401 for an access token past its expiry as the server unavailable, not the session ended (its refresh failed)", async () => {
    const { tokens } = await signInBob();
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(tokens.expiresAt + 60_000);
      await expect(listSessions(tokens.accessToken)).rejects.toEqual(new AccountApiError("unavailable"));
    } finally {
      vi.useRealTimers();
    }
  });

  it("says why a password change failed, in words for people, and sends the passwords in the body only", async () => {
    const { tokens } = await signInBob();
    const outcome = (current: string, next: string, confirm = next) => submitPasswordChange(tokens.accessToken, current, next, confirm);
    expect(await outcome("bob-password-1", "a new passphrase", "a new passphrase!")).toEqual({ error: "mismatch", form: "password" });
    expect(await outcome("", "a new passphrase")).toEqual({ error: "missing_current", form: "password" });
    expect(await outcome("bob-password-1", "password1")).toEqual({ error: "common", form: "password" });
    expect(await outcome("bob-password-1", "bob-1234")).toEqual({ error: "contains_username", form: "password" });
    expect(await outcome("bob-password-1", "short")).toEqual({ error: "too_short", form: "password" });
    expect(await outcome("wrong", "a new passphrase")).toEqual({ error: "wrong_password", form: "password" });
    const rules = await passwordRules();
    expect(accountError("too_short", rules)).toBe("The password must have at least 8 characters.");
    expect(accountError("wrong_password", rules)).toBe("Your current password is not right.");
    expect(accountError("mail_not_sent", rules)).toBe("The confirmation email couldn't be sent, so your address is unchanged. Please try again later.");
    expect(accountError("sign_out_failed", rules)).toBe("We couldn't sign you out, so you're still signed in. Please try again in a moment.");
    expect(accountError("<script>", rules)).toBe("This can't be done right now. Please try again in a moment.");
    expect(accountError(undefined, rules)).toBeUndefined();
    expect(requests.every((r) => !/passphrase|password1|bob-password/.test(r))).toBe(true);
    await expect(changePassword(tokens.accessToken, "bob-password-1", "short")).rejects.toMatchObject({ reason: "policy", rule: "too_short" });
  });

  it("asks a session from before two-step verification was turned on for a code with the password, and takes it", async () => {
    const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
    const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
    const username = `code-${randomUUID().slice(0, 8)}`;
    const user = await db().user.create({ data: { workspaceId, username, passwordHash } });
    const { tokens } = await passwordSignIn(username, "alice-password-1", { ip: "203.0.113.6", userAgent: CHROME });
    const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    expect(asksForCode(true, false, undefined, false)).toBe(true);
    expect(asksForCode(true, true, undefined, false)).toBe(false);
    expect(asksForCode(false, false, undefined, false)).toBe(false);
    await confirmFactor(user.id, await startEnrolment(user.id, secret, []), new Date());
    const change = (otp?: string) => submitPasswordChange(tokens.accessToken, "alice-password-1", "a new passphrase", "a new passphrase", otp);
    expect(await change()).toEqual({ error: "password_and_code", form: "password" });
    expect(accountError("password_and_code", await passwordRules())).toBe(
      "You signed in without a code this time, so this needs the 6-digit code your authenticator app shows as well as your password.",
    );
    expect(asksForCode(false, false, "password_and_code", true)).toBe(true);
    expect(asksForCode(false, false, "password_and_code", false)).toBe(false);
    expect(await change("12 34")).toEqual({ error: "code_format", form: "password" });
    const valid = new Set([-30_000, 0, 30_000].map((d) => totpCodeAt(secret, timeStep(Date.now() + d))));
    const wrong = ["000000", "111111", "222222"].find((c) => !valid.has(c)) ?? "";
    expect(await change(wrong)).toEqual({ error: "wrong_code", form: "password" });
    const code = totpCodeAt(secret, timeStep(Date.now()));
    expect(await change(`${code.slice(0, 3)} ${code.slice(3)}`)).toEqual({ notice: "password_changed" });
    expect(requests.every((r) => !r.includes(code))).toBe(true);
    // The profile form's code is read as the password form's, for a new address only.
    expect(await submitProfile(tokens.accessToken, "", "moved@example.com", "a new passphrase", "12")).toEqual({ error: "code_format", form: "profile" });
    expect(await submitProfile(tokens.accessToken, "A Name", "", "", "12")).toEqual({ error: "missing_email", form: "profile" });
  });

  it("saves the name at once, sends nothing when nothing changed, and says what was refused", async () => {
    const { tokens } = await signInBob();
    expect(await submitProfile(tokens.accessToken, "Bob Example", "bob@example.com")).toEqual({ notice: "profile_saved" });
    expect(requests.filter((r) => r.startsWith("PATCH"))).toEqual([]);
    expect(await submitProfile(tokens.accessToken, "  Robert Example ", "bob@example.com")).toEqual({ notice: "profile_saved" });
    expect(await getProfile(tokens.accessToken)).toMatchObject({ name: "Robert Example", email: "bob@example.com", pendingEmail: null });
    expect(await submitProfile(tokens.accessToken, "x".repeat(201), "bob@example.com")).toEqual({ error: "invalid_name", form: "profile" });
    expect(await submitProfile(tokens.accessToken, "Robert Example", "not an address")).toEqual({ error: "invalid_email", form: "profile" });
    expect(await submitProfile(tokens.accessToken, "Robert Example", " ")).toEqual({ error: "missing_email", form: "profile" });
    await submitProfile(tokens.accessToken, "Bob Example", "bob@example.com");
  });

  it("takes a password of 600 four-byte characters: the policy counts 600, and the sign-in takes it too", async () => {
    const { tokens } = await signInBob();
    const emoji = "\u{1F511}".repeat(599) + "\u{1F512}";
    expect(emoji.length).toBe(1200);
    expect(await submitPasswordChange(tokens.accessToken, "bob-password-1", emoji, emoji)).toEqual({ notice: "password_changed" });
    const signedIn = await passwordSignIn("bob", emoji, { ip: "203.0.113.5", userAgent: CHROME });
    expect(signedIn.tokens.accessToken).toBeTypeOf("string");
    expect(await submitPasswordChange(signedIn.tokens.accessToken, emoji, "bob-password-1", "bob-password-1")).toEqual({ notice: "password_changed" });
  });

  it("changes the email only with the current password, and cancels a pending change", async () => {
    const smtp = await startSmtpServer();
    const original = { SMTP_URL: settings().SMTP_URL, MAIL_FROM: settings().MAIL_FROM };
    Object.assign(settings(), { SMTP_URL: smtp.url, MAIL_FROM: "no-reply@example.com" });
    try {
      const { tokens } = await signInBob();
      const change = (password?: string) => submitProfile(tokens.accessToken, "Bob Example", "bob.moved@example.com", password);
      expect(await change()).toEqual({ error: "missing_current_for_email", form: "profile" });
      expect(await submitProfile(tokens.accessToken, "Bob Example", "not an address")).toEqual({ error: "invalid_email", form: "profile" });
      expect(await change("not-bobs-password")).toEqual({ error: "wrong_password", form: "profile" });
      expect(await change("bob-password-1")).toEqual({ notice: "email_pending" });
      expect((await smtp.nextMailAbout("Confirm your email address")).rcptTo).toEqual(["bob.moved@example.com"]);
      expect(await getProfile(tokens.accessToken)).toMatchObject({ email: "bob@example.com", pendingEmail: "bob.moved@example.com" });
      expect(await submitCancelEmailChange(tokens.accessToken)).toEqual({ notice: "email_change_cancelled" });
      expect(await getProfile(tokens.accessToken)).toMatchObject({ email: "bob@example.com", pendingEmail: null });
      expect(accountNotice("email_change_cancelled")).toBe("The change of your email address is cancelled: its link no longer works.");
      // The mail server refuses the mail: the page says so, and nothing is pending.
      const refusing = new URL(smtp.url);
      refusing.password = "not-the-password";
      Object.assign(settings(), { SMTP_URL: refusing.toString() });
      expect(await change("bob-password-1")).toEqual({ error: "mail_not_sent", form: "profile" });
      expect(await getProfile(tokens.accessToken)).toMatchObject({ email: "bob@example.com", pendingEmail: null });
    } finally {
      Object.assign(settings(), original);
      await smtp.close();
    }
  });

  it("reads the recent activity", async () => {
    const { tokens } = await signInBob();
    await flushAudit();
    const [newest] = await recentActivity(tokens.accessToken);
    expect(newest).toMatchObject({ type: "sign_in", outcome: "success", clientId: "demo-web", ip: "203.0.113.5", userAgent: CHROME });
    expect(activityInWords(newest!.type, newest!.outcome)).toBe("Signed in");
  });
});

describe("the account page's words", () => {
  it("refuses a form posted from another site (CSRF) before reading anything", async () => {
    const res = await accountFormSubmit(
      new Request("http://localhost:3000/account/submit", {
        method: "POST",
        headers: { Origin: "https://evil.example", "Content-Type": "application/x-www-form-urlencoded" },
        body: "action=end_other_sessions",
      }),
    );
    expect(res.status).toBe(403);
  });

  it("comes back from a form with codes only: to the section of its notice, or to its error, which takes the focus (not to a fragment, where a page focuses nothing)", () => {
    expect(destinationOf({ notice: "session_ended" })).toBe("/account?notice=session_ended#sessions");
    expect(destinationOf({ notice: "password_changed" })).toBe("/account?notice=password_changed");
    expect(destinationOf({ error: "too_short", form: "password" })).toBe("/account?error=too_short&form=password");
    expect(destinationOf({ error: "invalid_email", form: "profile" })).toBe("/account?error=invalid_email&form=profile");
  });

  it("comes back from two-step verification's forms with codes only: never a secret or a recovery code", () => {
    expect(destinationOf({ notice: "two_step_on" })).toBe("/account?notice=two_step_on#two-step");
    expect(destinationOf({ notice: "codes_renewed" })).toBe("/account?notice=codes_renewed#two-step");
    expect(destinationOf({ notice: "two_step_off" })).toBe("/account?notice=two_step_off#two-step");
    expect(destinationOf({ error: "wrong_code", form: "enrolment" })).toBe("/account/two-step-verification?error=wrong_code");
    expect(destinationOf({ error: "enrolment_expired", form: "enrolment" })).toBe("/account?error=enrolment_expired&form=enrolment");
    expect(destinationOf({ error: "wrong_code", form: "turn_off" })).toBe("/account?error=wrong_code&form=turn_off");
    expect(destinationOf({ error: "missing_proof", form: "new_codes" })).toBe("/account?error=missing_proof&form=new_codes");
    const rules = { minLength: 8, maxLength: 128, rejects: [] };
    expect(accountError("wrong_code", rules)).toBe("That code or password didn't work. Please try again.");
    expect(accountError("enrolment_expired", rules)).toBe("The setup took too long. Please start again.");
    expect(accountNotice("two_step_on")).toBe("Two-step verification is on. Signing in now asks for a code from your authenticator app.");
  });

  it("refuses a two-step form posted from another site before reading anything", async () => {
    const res = await accountFormSubmit(
      new Request("http://localhost:3000/account/submit", {
        method: "POST",
        headers: { Origin: "null", "Sec-Fetch-Site": "cross-site", "Content-Type": "application/x-www-form-urlencoded" },
        body: "action=turn_off_two_step&proof=123456",
      }),
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it.each([
    [0, "just now"],
    [59, "just now"],
    [60, "1 minute ago"],
    [3 * 3600, "3 hours ago"],
    [86400, "yesterday"],
    [9 * 86400, "last week"],
  ])("says %i seconds ago as %j", (ago, words) => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    expect(timeAgo(now / 1000 - ago, now)).toBe(words);
  });

  it("words every elapsed time as Intl.RelativeTimeFormat's English does, in the largest whole unit", () => {
    const format = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
    const units = [
      ["year", 365 * 86400],
      ["month", 30 * 86400],
      ["week", 7 * 86400],
      ["day", 86400],
      ["hour", 3600],
      ["minute", 60],
    ] as const;
    const now = Date.parse("2026-12-01T12:00:00Z");
    // Each unit's bounds: a second short of one, one, two, eleven (the plural forms).
    const elapsed = [0, 30, ...units.flatMap(([, size]) => [size - 1, size, size + 1, 2 * size - 1, 2 * size, 11 * size + 5])];
    for (const ago of elapsed) {
      const unit = units.find(([, size]) => ago >= size);
      const expected = unit ? format.format(-Math.floor(ago / unit[1]), unit[0]) : "just now";
      expect([ago, timeAgo(now / 1000 - ago, now)]).toEqual([ago, expected]);
    }
  });

  it("says a time in the future (a clock ahead of the server's) as just now", () => {
    const now = Date.parse("2026-12-01T12:00:00Z");
    expect(timeAgo(now / 1000 + 3600, now)).toBe("just now");
  });

  it.each([
    ["sign_in", "failure", "Failed sign-in attempt"],
    ["sign_in", "locked", "Sign-in blocked after too many attempts"],
    ["password_change", "success", "Changed password"],
    ["second_factor", "success", "Signed in with two-step verification"],
  ])("says %s %s as %j", (type, outcome, words) => {
    expect(activityInWords(type, outcome)).toBe(words);
  });
});
