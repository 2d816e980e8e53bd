import { settings } from "@/lib/platform/env.ts";

/** What the password grant needs of a user. */
export interface SignInUser {
  id: string;
  username: string;
  passwordHash: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  disabled: boolean;
  /** Has a confirmed second factor. */
  mfaEnrolled: boolean;
}

/** A counted failure from the caller's address group (newest first). */
export interface RecentFailure {
  id: string;
  username: string;
  at: number;
}

/** Failures without repeats (by id), newest first. */
export function newestFirst(failures: readonly RecentFailure[]): RecentFailure[] {
  return [...new Map(failures.map((f) => [f.id, f])).values()].sort((a, b) => b.at - a.at);
}

/** What the brute-force defence knows of an attempt before it verifies anything. */
export interface AttemptHistory {
  /**
   * The newest failures from the address group (any username, at most the limit asked for) and
   * this name's own newest from there (however many others failed there since), newest first.
   */
  failures: RecentFailure[];
  /** Failures of this username from every address since `since`, and when the oldest of them was. */
  account: { count: number; oldest: number | null };
  /** When the user last signed in successfully from this address group (ms), if ever. */
  knownSince: number | null;
}

const DAY_MS = 86_400_000;

/**
 * An address group counts as known for LOCKOUT_KNOWN_ADDRESS_DAYS after the user's last sign-in
 * from it, to the brute-force defence and to the new sign-in notice alike: signed in from after
 * this instant (ms).
 */
export function knownAddressCutoff(now: number): number {
  return now - settings().LOCKOUT_KNOWN_ADDRESS_DAYS * DAY_MS;
}

/** Whether the user's last sign-in from an address group (ms, or null: never) keeps it known. */
export function isKnownAddress(knownSince: number | null, now: number): boolean {
  return knownSince !== null && knownSince > knownAddressCutoff(now);
}
