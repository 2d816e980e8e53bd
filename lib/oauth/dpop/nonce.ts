import { createHmac, timingSafeEqual } from "node:crypto";
import { serverSecret } from "@/lib/oauth/store/server-secrets.ts";
import type { Workspace } from "@/lib/oauth/model/workspace.ts";

/** How long a server-provided DPoP nonce is current; the one before it is still accepted. */
export const DPOP_NONCE_WINDOW_MS = 300_000;

/** The name of the server secret nonces are made with. */
export const DPOP_NONCE_SECRET = "dpop-nonce";

/**
 * RFC 9449 §8: the nonce of a window of time, an HMAC of it (and the workspace) under a secret
 * every instance shares through the database: stateless, so any instance accepts the nonce
 * another one provided, and unpredictable to anyone without the secret.
 */
async function nonceOf(workspace: Workspace, window: number): Promise<string> {
  return createHmac("sha256", await serverSecret(DPOP_NONCE_SECRET))
    .update(`${workspace.id}\n${window}`)
    .digest("base64url");
}

/** The nonce to provide now (`DPoP-Nonce`). */
export function currentDpopNonce(workspace: Workspace, now = Date.now()): Promise<string> {
  return nonceOf(workspace, Math.floor(now / DPOP_NONCE_WINDOW_MS));
}

/** Whether `nonce` is the current window's or the previous one's (a client may have fetched it just before the change). */
export async function isAcceptedDpopNonce(workspace: Workspace, nonce: string, now = Date.now()): Promise<boolean> {
  const window = Math.floor(now / DPOP_NONCE_WINDOW_MS);
  const given = Buffer.from(nonce);
  for (const w of [window, window - 1]) {
    const expected = Buffer.from(await nonceOf(workspace, w));
    if (given.length === expected.length && timingSafeEqual(given, expected)) return true;
  }
  return false;
}
