/** `text` with its percent-encoding decoded (RFC 3986 §2.1), or undefined where it does not decode (a bare %, a byte that is not UTF-8). */
export function percentDecoded(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
