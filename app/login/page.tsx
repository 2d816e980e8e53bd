import { redirect } from "next/navigation";
import { settings } from "@/lib/platform/env.ts";
import { safeCallbackPath } from "@/lib/login/callback-url.ts";
import { currentSession } from "@/lib/login/current-session.ts";
import { SESSION_ENDED_MESSAGE } from "@/lib/login/messages.ts";
import { operatorHint } from "@/lib/login/self-check.ts";
import { LoginForm } from "./login-form.tsx";

export const metadata = { title: "Sign in" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const callbackUrl = safeCallbackPath(typeof params.callbackUrl === "string" ? params.callbackUrl : undefined, settings().APP_URL);
  if (await currentSession()) redirect(callbackUrl);
  return (
    <main className="card">
      <h1>Sign in</h1>
      <LoginForm callbackUrl={callbackUrl} notice={params.reason === "expired" ? SESSION_ENDED_MESSAGE : undefined} operatorHint={operatorHint()} />
    </main>
  );
}
