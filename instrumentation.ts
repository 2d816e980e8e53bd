// Next's start-up hook, run once per server process before it answers: in `npm run dev` (where
// Next answers every route, the authorization server's too) and in the production server's Next
// (the login app), where the launcher has set traces up already (lib/scripts/start.ts).
export async function register(): Promise<void> {
  // The Edge runtime has no Node SDK; this app runs none of its code there.
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startTracing } = await import("@/lib/platform/tracing-sdk.ts");
  await startTracing();
}
