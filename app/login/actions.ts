"use server";

import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { settings } from "@/lib/platform/env.ts";
import { safeCallbackPath } from "@/lib/login/callback-url.ts";
import { mfaStepCookieNames } from "@/lib/login/mfa-sign-in.ts";
import { loginConfig } from "@/lib/login/config.ts";

/** "Start again": forgets the sign-in step in progress and shows the password form. */
export async function cancelSignInStep(formData: FormData): Promise<void> {
  const store = await cookies();
  for (const name of mfaStepCookieNames(store.getAll().map((cookie) => cookie.name)))
    store.set(name, "", { maxAge: 0, path: "/", httpOnly: true, sameSite: "strict", secure: loginConfig().secureCookies });
  const callbackUrl = formData.get("callbackUrl");
  const path = safeCallbackPath(typeof callbackUrl === "string" ? callbackUrl : undefined, settings().APP_URL);
  redirect(`/login?${new URLSearchParams({ callbackUrl: path })}`);
}
