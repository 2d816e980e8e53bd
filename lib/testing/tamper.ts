/**
 * `text` with its character at `at` (negative counts from the end) changed to another base64url
 * character: a value that must no longer open or verify. Pick a character whose bits are all data:
 * the last character of a base64url string carries up to four padding bits, so changing only
 * those can decode to the very same bytes.
 */
export function withCharChanged(text: string, at: number): string {
  const i = at < 0 ? text.length + at : at;
  if (i < 0 || i >= text.length) throw new RangeError(`no character ${at} in a string of ${text.length}`);
  return `${text.slice(0, i)}${text[i] === "A" ? "B" : "A"}${text.slice(i + 1)}`;
}
