// KEY_ENCRYPTION_KEY's format, for the settings check and lib/platform/at-rest.ts.

/** What KEY_ENCRYPTION_KEY must be, in the words of the error that refuses anything else. */
export const KEY_ENCRYPTION_KEY_FORMAT = "must be 32 random bytes in base64 (make one with: openssl rand -base64 32)";

/** The key from the setting's text, or null when it is not 32 bytes of base64 or base64url. */
export function parseKeyEncryptionKey(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(text.trim())) return null;
  const key = Buffer.from(text.trim().replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return key.length === 32 ? key : null;
}
