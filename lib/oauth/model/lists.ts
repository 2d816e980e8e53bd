/** A space-separated list as stored (scopes, grant types, auth methods, audiences, origins, amr). */
export function splitList(value: string | null | undefined): string[] {
  return value ? value.split(" ").filter((v) => v !== "") : [];
}

/** The stored form of a list: its items, space-separated. */
export function joinList(values: Iterable<string>): string {
  return [...values].join(" ");
}
