/** What went wrong, in words: an Error's message, or whatever else was thrown as text (for logs and details, never a response's body). */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
