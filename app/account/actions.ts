"use server";

import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { currentSession } from "@/lib/login/current-session.ts";
import {
  confirmEnrolment,
  ENROLMENT_PATH,
  enrolmentCookieName,
  enrolmentCookieOptions,
  newRecoveryCodes,
  openEnrolment,
  startEnrolment,
  turnOff,
  type AccountFormState,
} from "@/lib/login/account-mfa.ts";

async function accessToken(): Promise<string> {
  const session = await currentSession();
  if (!session) redirect("/login");
  return session.tokens.accessToken;
}

function field(formData: FormData, name: string): string {
  const value = formData.get(name);
  return typeof value === "string" ? value : "";
}

export async function startEnrolmentAction(): Promise<AccountFormState> {
  const started = await startEnrolment(await accessToken());
  if (!started.ok) return { error: started.error };
  (await cookies()).set(enrolmentCookieName(), started.sealed, enrolmentCookieOptions());
  redirect(ENROLMENT_PATH);
}

// Touches no cookie: that would render the page again, without the recovery codes this answer shows.
export async function confirmEnrolmentAction(_state: AccountFormState, formData: FormData): Promise<AccountFormState> {
  const enrolment = await openEnrolment((await cookies()).get(enrolmentCookieName())?.value);
  return confirmEnrolment(await accessToken(), enrolment, field(formData, "otp"));
}

/** "Done" after the recovery codes: the sealed enrolment is forgotten. */
export async function finishEnrolmentAction(): Promise<void> {
  (await cookies()).set(enrolmentCookieName(), "", enrolmentCookieOptions(0));
  redirect("/account");
}

export async function turnOffAction(_state: AccountFormState, formData: FormData): Promise<AccountFormState> {
  const state = await turnOff(await accessToken(), field(formData, "proof"));
  if (state.done) redirect("/account");
  return state;
}

export async function newRecoveryCodesAction(_state: AccountFormState, formData: FormData): Promise<AccountFormState> {
  return newRecoveryCodes(await accessToken(), field(formData, "proof"));
}
