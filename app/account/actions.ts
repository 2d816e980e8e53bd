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

export async function confirmEnrolmentAction(_state: AccountFormState, formData: FormData): Promise<AccountFormState> {
  const store = await cookies();
  const state = await confirmEnrolment(await accessToken(), await openEnrolment(store.get(enrolmentCookieName())?.value), field(formData, "otp"));
  if (state.done) store.set(enrolmentCookieName(), "", enrolmentCookieOptions(0));
  return state;
}

export async function turnOffAction(_state: AccountFormState, formData: FormData): Promise<AccountFormState> {
  const state = await turnOff(await accessToken(), field(formData, "proof"));
  if (state.done) redirect("/account");
  return state;
}

export async function newRecoveryCodesAction(_state: AccountFormState, formData: FormData): Promise<AccountFormState> {
  return newRecoveryCodes(await accessToken(), field(formData, "proof"));
}
