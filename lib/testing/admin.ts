import { expect } from "vitest";
import { AdminError } from "@/lib/admin/errors.ts";

/** The message of the AdminError `promise` is refused with (anything else fails the test). */
export async function refusal(promise: Promise<unknown>): Promise<string> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AdminError);
  return (err as AdminError).message;
}
