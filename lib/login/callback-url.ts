/** Where a signed-in user goes when no acceptable callbackUrl was given. */
export const DEFAULT_CALLBACK_PATH = "/account";

// A path that a browser, or a router that decodes it, reads as `//host` is a protocol-relative URL:
// another origin.
const NETWORK_PATH = /^\/[/\\]/;
// The WHATWG URL parser drops tabs and newlines anywhere in a URL (`/\t/evil` is `//evil`).
const IGNORED_BY_URL_PARSERS = /[\t\n\r]/g;
// Enough for any double or triple encoding; a path still changing after this is refused.
const MAX_DECODINGS = 4;

/** Whether `pathname`, or any percent-decoding of it, starts with `//` or `/\`. */
function isNetworkPath(pathname: string): boolean {
  let path = pathname;
  for (let round = 0; round <= MAX_DECODINGS; round++) {
    if (NETWORK_PATH.test(path.replace(IGNORED_BY_URL_PARSERS, ""))) return true;
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return true;
    }
    if (decoded === path) return false;
    path = decoded;
  }
  return true;
}

/**
 * Only a path on this origin: never `//host`, `/\host` or an absolute URL elsewhere, and never a
 * path that normalises (`/.//host`, `/a/..//host`) or percent-decodes (`/%2F%2Fhost`) to one.
 * Anything else is {@link DEFAULT_CALLBACK_PATH}: an open redirect after sign-in would lend the
 * login page's trust to a phishing site.
 */
export function safeCallbackPath(url: string | null | undefined, origin: string): string {
  if (!url) return DEFAULT_CALLBACK_PATH;
  let resolved: URL;
  try {
    resolved = new URL(url, origin);
  } catch {
    return DEFAULT_CALLBACK_PATH;
  }
  if (resolved.origin !== origin || isNetworkPath(resolved.pathname)) return DEFAULT_CALLBACK_PATH;
  return `${resolved.pathname}${resolved.search}${resolved.hash}`;
}

/**
 * The path of the URL that next-auth's redirect callback answered a sign-in with (it passed
 * {@link safeCallbackPath} on the server), checked again before the browser goes there.
 */
export function validatedCallbackPath(serverUrl: string | null | undefined): string {
  if (!serverUrl) return DEFAULT_CALLBACK_PATH;
  try {
    return safeCallbackPath(serverUrl, new URL(serverUrl).origin);
  } catch {
    return DEFAULT_CALLBACK_PATH;
  }
}
