import { settings } from "@/lib/platform/env.ts";

/** Sets KEY_ENCRYPTION_KEY for this process (undefined: unset), as a shell that exported it or not. */
export function withKey(key: string | undefined): void {
  const s = settings() as { KEY_ENCRYPTION_KEY?: string };
  if (key === undefined) delete s.KEY_ENCRYPTION_KEY;
  else s.KEY_ENCRYPTION_KEY = key;
}
