import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { settings } from "@/lib/platform/env.ts";
import { parseKeyEncryptionKey } from "@/lib/platform/key-encryption-key.ts";

/**
 * Secrets at rest: what the database keeps that would let its reader act as the server (signing
 * keys' private parts, server secrets, secrets kept for client_secret_jwt, TOTP secrets) is
 * sealed with AES-256-GCM under KEY_ENCRYPTION_KEY, when that setting is set. A copy of the
 * database alone (a backup, a replica, a stolen disk) then yields none of them.
 *
 * A sealed value is `sealed:v1:<key id>:<iv>:<ciphertext and tag>` (base64url), its purpose and
 * row bound in as additional data: a sealed value moved to another row or column does not open.
 * The key id (the first bytes of the key's SHA-256) lets a wrong key be named as such. A value
 * without the prefix is a plain one (written before the setting was set): it is read as it is,
 * and `npm run cli -- key seal` seals what is left.
 */
export const SEALED_PREFIX = "sealed:v1:";
const PREFIX = SEALED_PREFIX;

/** A sealed value met without the key that opens it, or with another: named, never guessed around. */
export class SealedValueError extends Error {}

const keyId = (key: Buffer) => createHash("sha256").update(key).digest("base64url").slice(0, 8);

export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** `plain` sealed under `key` for `context` (what and which row, e.g. `SigningKey:<kid>`); as it is without a key. */
export function seal(plain: string, context: string, key: Buffer | null): string {
  if (!key) return plain;
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${keyId(key)}:${iv.toString("base64url")}:${body.toString("base64url")}`;
}

/** The plain value of what `seal` stored (a plain value is returned as it is). */
export function open(stored: string, context: string, key: Buffer | null): string {
  if (!isSealed(stored)) return stored;
  const [id = "", iv = "", body = ""] = stored.slice(PREFIX.length).split(":");
  if (!key) throw new SealedValueError(`${context} is sealed, and KEY_ENCRYPTION_KEY is not set: set it to the key it was sealed with`);
  if (id !== keyId(key)) throw new SealedValueError(`${context} was sealed with another KEY_ENCRYPTION_KEY (key id ${id}, this one ${keyId(key)})`);
  try {
    const bytes = Buffer.from(body, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
    decipher.setAAD(Buffer.from(context, "utf8"));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - 16)), decipher.final()]).toString("utf8");
  } catch {
    throw new SealedValueError(`${context} does not open with KEY_ENCRYPTION_KEY: it was altered, or sealed for another row`);
  }
}

let parsed: { text: string | undefined; key: Buffer | null } | undefined;
/** KEY_ENCRYPTION_KEY's key, or null when it is not set (the settings check refuses a malformed one). */
export function atRestKey(): Buffer | null {
  const text = settings().KEY_ENCRYPTION_KEY;
  if (parsed === undefined || parsed.text !== text) parsed = { text, key: text === undefined ? null : parseKeyEncryptionKey(text) };
  return parsed.key;
}

/** `seal` and `open` under KEY_ENCRYPTION_KEY. */
export const sealAtRest = (plain: string, context: string) => seal(plain, context, atRestKey());
export const openAtRest = (stored: string, context: string) => open(stored, context, atRestKey());
