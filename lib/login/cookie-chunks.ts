// A cookie value too long for one cookie, split over `name.0`, `name.1`, … as next-auth splits
// its session (a browser keeps no cookie over 4,096 bytes; next-auth/core/lib/cookie.js). The
// session (session.ts) and the sign-in step in progress (mfa-sign-in.ts) are both written so.

// The longest value a chunk holds: room for the name and the attributes within 4,096 bytes.
const CHUNK_SIZE = 4096 - 163;

const chunkIndex = (cookie: string, name: string): number | undefined => {
  if (!cookie.startsWith(`${name}.`)) return undefined;
  const suffix = cookie.slice(name.length + 1);
  return /^\d{1,3}$/.test(suffix) ? Number(suffix) : undefined;
};

/** Whether `cookie` is the cookie `name`, whole or one of its chunks. */
export const isChunkOf = (cookie: string, name: string) => cookie === name || chunkIndex(cookie, name) !== undefined;

/** The value of the cookie `name` among a request's cookies: its chunks joined in order, or the cookie whole. */
export function chunkedCookieValue(cookies: Iterable<{ name: string; value: string }>, name: string): string | undefined {
  const chunks: Array<[number, string]> = [];
  let whole: string | undefined;
  for (const cookie of cookies) {
    const index = chunkIndex(cookie.name, name);
    if (index !== undefined) chunks.push([index, cookie.value]);
    else if (cookie.name === name) whole = cookie.value;
  }
  return chunks.length > 0
    ? chunks
        .sort((a, b) => a[0] - b[0])
        .map(([, value]) => value)
        .join("")
    : whole;
}

/**
 * The cookies that store `value` under `name`, split when it is too long for one, and which of the
 * request's cookies (`existing`) must go: a stale chunk would be joined to the new value.
 */
export function chunkedCookieWrites(value: string, existing: Iterable<string>, name: string): { set: Array<[string, string]>; remove: string[] } {
  const set: Array<[string, string]> =
    value.length <= CHUNK_SIZE
      ? [[name, value]]
      : Array.from({ length: Math.ceil(value.length / CHUNK_SIZE) }, (_, i) => [`${name}.${i}`, value.slice(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE)]);
  const kept = new Set(set.map(([cookie]) => cookie));
  return { set, remove: [...existing].filter((cookie) => isChunkOf(cookie, name) && !kept.has(cookie)) };
}
