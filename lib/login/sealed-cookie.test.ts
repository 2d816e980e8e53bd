import { describe, expect, it } from "vitest";
import { seal, setCookieHeader, unseal } from "@/lib/login/sealed-cookie.ts";
import { mfaStepCookies, openMfaStep } from "@/lib/login/mfa-sign-in.ts";
import { openEnrolment, openRecoveryCodes, proofOf, sealRecoveryCodes } from "@/lib/login/account-mfa.ts";
import { withCharChanged } from "@/lib/testing/tamper.ts";

describe("sealed cookies", () => {
  it("open what they sealed, for the same purpose only", async () => {
    const sealed = await seal("mfa-step", { step: { stage: "code", mfaToken: "secret-token" } }, 300);
    expect(sealed).not.toContain("secret-token");
    expect(await unseal("mfa-step", sealed)).toMatchObject({ step: { stage: "code", mfaToken: "secret-token" } });
    expect(await unseal("account-enrolment", sealed)).toBeNull();
  });

  it("refuse an expired, tampered or missing value", async () => {
    const now = Date.now();
    const sealed = await seal("mfa-step", { step: { stage: "code", mfaToken: "t" } }, 300, now);
    expect(await unseal("mfa-step", sealed, now + 301_000)).toBeNull();
    const parts = sealed.split(".");
    parts[3] = withCharChanged(parts[3]!, 0);
    expect(await unseal("mfa-step", parts.join("."))).toBeNull();
    expect(await unseal("mfa-step", undefined)).toBeNull();
    expect(await unseal("mfa-step", "garbage")).toBeNull();
  });

  it("are httpOnly and SameSite=Strict; a null step deletes the cookie", async () => {
    expect(setCookieHeader({ name: "n", path: "/", maxAge: 60 }, "v")).toBe("n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Strict");
    const [set] = await mfaStepCookies({ stage: "code", mfaToken: "tok" });
    expect(set).toMatch(/^login-mfa-step=[^;]+; Path=\/; Max-Age=300; HttpOnly; SameSite=Strict$/);
    expect(await openMfaStep(set!.split(";")[0]!.split("=")[1])).toEqual({ stage: "code", mfaToken: "tok" });
    expect(await mfaStepCookies(null)).toEqual(["login-mfa-step=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"]);
  });
});

describe("recovery codes on their way to the page", () => {
  it("open for their purpose within a minute only, and never as another sealed value", async () => {
    const now = Date.now();
    const sealed = await sealRecoveryCodes(["abcd-efgh", "ijkl-mnop"], "user-1", now);
    expect(sealed).not.toContain("abcd");
    expect(await openRecoveryCodes(sealed, "user-1", now)).toEqual(["abcd-efgh", "ijkl-mnop"]);
    expect(await openRecoveryCodes(sealed, "user-1", now + 61_000)).toBeNull();
    expect(await openRecoveryCodes(await seal("account-enrolment", { codes: ["x"], holder: "user-1" }, 60), "user-1", now)).toBeNull();
    expect(await openRecoveryCodes(await seal("account-recovery-codes", { codes: [1], holder: "user-1" }, 60), "user-1", now)).toBeNull();
    expect(await openRecoveryCodes(null, "user-1")).toBeNull();
    expect(await openRecoveryCodes("abcd-efgh", "user-1")).toBeNull();
  });

  it("open for the user they were sealed for only: the next person on a shared browser sees none", async () => {
    const now = Date.now();
    const codes = await sealRecoveryCodes(["abcd-efgh"], "user-1", now);
    expect(await openRecoveryCodes(codes, "user-2", now)).toBeNull();
    expect(await openRecoveryCodes(await seal("account-recovery-codes", { codes: ["abcd-efgh"] }, 60), "", now)).toBeNull();
    const enrolment = { secret: "JBSWY3DPEHPK3PXP", barcodeUri: "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP", recoveryCodes: [] };
    const sealed = await seal("account-enrolment", { enrolment, holder: "user-1" }, 600, now);
    expect(await openEnrolment(sealed, "user-1", now)).toEqual(enrolment);
    expect(await openEnrolment(sealed, "user-2", now)).toBeNull();
  });
});

describe("proofOf: a current code or the password", () => {
  it.each([
    ["123456", { otp: "123456" }],
    ["123 456", { otp: "123456" }],
    ["dave-password-1", { password: "dave-password-1" }],
    ["1234567", { password: "1234567" }],
    ["", null],
  ])("%j is %j", (input, proof) => {
    expect(proofOf(input)).toEqual(proof);
  });
});
