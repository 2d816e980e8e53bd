/** What the password grant needs of a user. */
export interface SignInUser {
  id: string;
  username: string;
  passwordHash: string;
  name: string | null;
  email: string | null;
  emailVerified: boolean;
  disabled: boolean;
}

/** A counted failure from the caller's address group (newest first). */
export interface RecentFailure {
  id: string;
  username: string;
  at: number;
}

/** What the brute-force defence knows of an attempt before it verifies anything. */
export interface AttemptHistory {
  /** The newest failures from the address group (any username), at most the limit asked for. */
  failures: RecentFailure[];
  /** Failures of this username from every address since `since`, and when the oldest of them was. */
  account: { count: number; oldest: number | null };
  /** When the user last signed in successfully from this address group (ms), if ever. */
  knownSince: number | null;
}
