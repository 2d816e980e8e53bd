import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { clearDevMailbox, devMailbox } from "@/lib/platform/mail.ts";
import { issueAccountToken } from "@/lib/oauth/store/account-tokens.ts";
import { passwordSignIn, setFetchForTests } from "@/lib/login/token-client.ts";
import { sessionLiveness } from "@/lib/login/session-check.ts";
import { forgotPasswordSubmit, resetPasswordSubmit, verifyEmailSubmit } from "@/lib/login/recovery-forms.ts";
import { linkIssuer } from "@/lib/login/email-verification.ts";
import { createWorkspace } from "@/lib/admin/workspaces.ts";
import { passwordPolicy, policyRules, recoveryOffered } from "@/lib/login/recovery.ts";
import { inProcessFetch, postToken, SPA } from "@/lib/testing/oauth.ts";

// The login app's calls are answered in-process by the real endpoints; mail goes to the
// development mailbox (no SMTP_URL outside production).
const APP = "http://localhost:3000";
beforeAll(() => setFetchForTests(inProcessFetch));
afterAll(() => setFetchForTests(undefined));
afterEach(() => clearDevMailbox());

function post(path: string, fields: Record<string, string>, origin = APP): Request {
  return new Request(`${APP}${path}`, {
    method: "POST",
    headers: { Origin: origin, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
}

const location = (res: Response) => res.headers.get("location")?.replace(APP, "");

async function mailedToken(to: string): Promise<string> {
  await backgroundSettled();
  const mail = devMailbox().find((m) => m.to === to);
  const token = /reset-password\?token=([A-Za-z0-9_-]{43})/.exec(mail?.text ?? "")?.[1];
  expect(token, `a reset link to ${to}`).toBeDefined();
  return token ?? "";
}

describe("the forgot-password form", () => {
  it("asks the issuer for a link and says it was sent, for an address or a username alike", async () => {
    const res = await forgotPasswordSubmit(post("/forgot-password/submit", { identifier: " bob@example.com " }));
    expect(res.status).toBe(303);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(location(res)).toBe("/forgot-password?sent=1");
    expect(await mailedToken("bob@example.com")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const unknown = await forgotPasswordSubmit(post("/forgot-password/submit", { identifier: "nobody" }));
    expect(location(unknown)).toBe("/forgot-password?sent=1");
  });

  it("refuses a post from another site, and asks again for an empty field", async () => {
    expect((await forgotPasswordSubmit(post("/forgot-password/submit", { identifier: "bob" }, "https://evil.example"))).status).toBe(403);
    expect(location(await forgotPasswordSubmit(post("/forgot-password/submit", { identifier: "  " })))).toBe("/forgot-password?error=missing");
  });

  it("knows recovery and the policy from discovery, and that recovery is off when the issuer does not list it", async () => {
    expect(await recoveryOffered()).toBe(true);
    expect(policyRules(await passwordPolicy())).toEqual([
      "At least 8 characters (a few words together work well)",
      "Not a commonly used password",
      "Not containing your username or email address",
    ]);
    const production = settings().isProduction;
    settings().isProduction = true;
    setFetchForTests(inProcessFetch); // forgets the discovered document
    try {
      expect(await recoveryOffered()).toBe(false);
      expect(location(await forgotPasswordSubmit(post("/forgot-password/submit", { identifier: "bob" })))).toBe("/forgot-password?error=unavailable");
    } finally {
      settings().isProduction = production;
      setFetchForTests(inProcessFetch);
    }
  });
});

describe("the reset-password form", () => {
  it("sets the new password through the link, never putting a password in a URL", async () => {
    // A session of alice's that this instance has found alive: the reset ends it, and it is asked about afresh.
    const { tokens } = await passwordSignIn("alice", "alice-password-1");
    expect(await sessionLiveness(tokens)).toBe("alive");
    await forgotPasswordSubmit(post("/forgot-password/submit", { identifier: "alice" }));
    const token = await mailedToken("alice@example.com");
    const back = (query: string) => `/reset-password?token=${token}&${query}`;
    const mismatch = await resetPasswordSubmit(post("/reset-password/submit", { token, password: "a fine new passphrase", confirm: "a fine new passphrase!" }));
    expect(location(mismatch)).toBe(back("error=mismatch"));
    const common = await resetPasswordSubmit(post("/reset-password/submit", { token, password: "password123", confirm: "password123" }));
    expect(location(common)).toBe(back("error=policy&rule=common"));
    expect(location(await resetPasswordSubmit(post("/reset-password/submit", { token, password: "", confirm: "" })))).toBe(back("error=missing"));
    const done = await resetPasswordSubmit(post("/reset-password/submit", { token, password: "a fine new passphrase", confirm: "a fine new passphrase" }));
    expect(location(done)).toBe("/login?reason=password_reset");
    expect(await sessionLiveness(tokens)).toBe("ended");
    for (const res of [mismatch, common, done]) expect(location(res)).not.toContain("passphrase");
    expect((await postToken({ grant_type: "password", ...SPA, username: "alice", password: "a fine new passphrase" })).status).toBe(200);
    // The link worked once.
    const again = await resetPasswordSubmit(post("/reset-password/submit", { token, password: "another passphrase", confirm: "another passphrase" }));
    expect(location(again)).toBe(back("error=invalid_link"));
  });

  it("refuses a post from another site", async () => {
    const res = await resetPasswordSubmit(
      post("/reset-password/submit", { token: "x", password: "a fine new passphrase", confirm: "a fine new passphrase" }, "https://evil.example"),
    );
    expect(res.status).toBe(403);
  });
});

describe("the confirm-email form", () => {
  it("posts the link's token to the issuer once", async () => {
    const bob = await db().user.findFirstOrThrow({ where: { username: "bob" } });
    const token = await issueAccountToken({
      purpose: "email_verification",
      workspaceId: bob.workspaceId,
      userId: bob.id,
      email: "robert@example.com",
      ttlSeconds: 600,
      limit: 3,
    });
    expect(location(await verifyEmailSubmit(post("/verify-email/submit", { token: token ?? "" })))).toBe("/verify-email?done=1");
    expect((await db().user.findUniqueOrThrow({ where: { id: bob.id } })).email).toBe("robert@example.com");
    expect(location(await verifyEmailSubmit(post("/verify-email/submit", { token: token ?? "" })))).toBe("/verify-email?error=invalid_link");
    expect((await verifyEmailSubmit(post("/verify-email/submit", { token: token ?? "" }, "https://evil.example"))).status).toBe(403);
  });

  it("confirms for the workspace the link names, on this app's server only", async () => {
    await createWorkspace({ ref: "acme/verify-elsewhere", name: "Acme" });
    const workspace = await db().workspace.findFirstOrThrow({ where: { slug: "verify-elsewhere", tenant: { slug: "acme" } } });
    const carol = await db().user.create({
      data: { workspaceId: workspace.id, username: "carol", passwordHash: "unused", email: "carol@example.com", emailVerified: true },
    });
    const token =
      (await issueAccountToken({
        purpose: "email_verification",
        workspaceId: workspace.id,
        userId: carol.id,
        email: "carol@example.org",
        ttlSeconds: 600,
        limit: 3,
      })) ?? "";
    const submit = async (fields: Record<string, string>) => location(await verifyEmailSubmit(post("/verify-email/submit", { token, ...fields })));
    // This app's own workspace does not know the token; half a pair, or a name that is not one, goes nowhere.
    expect(await submit({})).toBe("/verify-email?error=invalid_link");
    expect(await submit({ tenant: "demo", workspace: "default" })).toBe("/verify-email?error=invalid_link");
    expect(await submit({ tenant: "acme" })).toBe("/verify-email?error=invalid_link");
    expect(await submit({ tenant: "acme", workspace: "nowhere" })).toBe("/verify-email?error=invalid_link&tenant=acme&workspace=nowhere");
    expect(await submit({ tenant: "..", workspace: "verify-elsewhere" })).toBe("/verify-email?error=invalid_link");
    expect(await submit({ tenant: "acme/verify-elsewhere", workspace: "x" })).toBe("/verify-email?error=invalid_link");
    expect((await db().user.findUniqueOrThrow({ where: { id: carol.id } })).email).toBe("carol@example.com");
    // The page it goes back to names the workspace again: it is not this app's, so no link to this app's account page.
    expect(await submit({ tenant: "acme", workspace: "verify-elsewhere" })).toBe("/verify-email?done=1&tenant=acme&workspace=verify-elsewhere");
    expect(await db().user.findUniqueOrThrow({ where: { id: carol.id } })).toMatchObject({ email: "carol@example.org", emailVerified: true });
    expect(await submit({ tenant: "acme", workspace: "verify-elsewhere" })).toBe("/verify-email?error=invalid_link&tenant=acme&workspace=verify-elsewhere");
  });

  it("says when the server cannot be reached or cannot confirm now, and keeps the link's token and workspace for another try", async () => {
    const submit = async (fields: Record<string, string>) => location(await verifyEmailSubmit(post("/verify-email/submit", { token: "a-token", ...fields })));
    try {
      setFetchForTests(() => Promise.reject(new TypeError("fetch failed")));
      expect(await submit({})).toBe("/verify-email?error=unreachable&token=a-token");
      expect(await submit({ tenant: "acme", workspace: "prod" })).toBe("/verify-email?error=unreachable&token=a-token&tenant=acme&workspace=prod");
      setFetchForTests(() => Promise.resolve(Response.json({ error: "temporarily_unavailable" }, { status: 503 })));
      expect(await submit({ tenant: "acme", workspace: "prod" })).toBe("/verify-email?error=unavailable&token=a-token&tenant=acme&workspace=prod");
    } finally {
      setFetchForTests(inProcessFetch);
    }
  });
});

describe("linkIssuer", () => {
  const original = settings().OAUTH_ISSUER;
  afterEach(() => Object.assign(settings(), { OAUTH_ISSUER: original }));

  it("is this app's own issuer for a link that names no workspace or its own, another workspace of the same server else", () => {
    expect(linkIssuer("", "")).toEqual({ issuer: "http://localhost:3000/demo/default", own: true });
    expect(linkIssuer("demo", "default")).toEqual({ issuer: "http://localhost:3000/demo/default", own: true });
    expect(linkIssuer("acme", "prod")).toEqual({ issuer: "http://localhost:3000/acme/prod", own: false });
    Object.assign(settings(), { OAUTH_ISSUER: "https://auth.example.com/sso/demo/default" });
    expect(linkIssuer("acme", "prod")).toEqual({ issuer: "https://auth.example.com/sso/acme/prod", own: false });
  });

  it.each([
    ["", "prod"],
    ["acme", ""],
    ["Acme", "prod"],
    ["acme", "prod?x=1"],
    ["acme", "%2e%2e"],
    ["acme", "-prod"],
    ["a".repeat(64), "prod"],
  ])("refuses %j / %j", (tenant, workspace) => {
    expect(linkIssuer(tenant, workspace)).toBeNull();
  });
});
