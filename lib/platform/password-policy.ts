/**
 * The password policy (OWASP ASVS 5.0 §6.2, NIST SP 800-63B §3.1.1.2), applied wherever a password
 * is set: the CLI, the account API's change, recovery's reset. It counts length in Unicode code
 * points of the NFKC-normalised password, accepts up to MAX_PASSWORD_LENGTH (never truncating), has
 * no composition rules, and refuses the most common passwords and those containing the username or
 * the email address. It never logs, keeps or returns the password.
 */

/** Every password's upper bound: argon2 hashes anything, this keeps a request's hashing cost bounded. */
export const MAX_PASSWORD_LENGTH = 1024;
/**
 * How long (UTF-16 code units, as JavaScript counts) a password field may be wherever a password
 * is read: the sign-in, the current password of a change, a new one. Every password the policy
 * accepts (1024 code points after NFKC, up to two units each) fits, so none that could be set is
 * refused at sign-in; a longer field is refused as it is, never cut.
 */
export const MAX_PASSWORD_INPUT_LENGTH = 4096;
/** The workspace setting's default and bounds: ASVS §6.2.1 asks for 8 at least; §6.2.9 for 64 accepted. */
export const DEFAULT_MIN_PASSWORD_LENGTH = 8;
export const MIN_PASSWORD_LENGTH_BOUNDS = { min: 8, max: 64 } as const;
/** Identifiers shorter than this are not searched for in a password (a 2-letter username would forbid half of them). */
const MIN_IDENTIFIER_LENGTH = 3;

export type PasswordRule = "too_short" | "too_long" | "common" | "contains_username" | "contains_email";

export interface PasswordViolation {
  rule: PasswordRule;
  /** Public, ASCII: names the rule (an `error_description`, a line under a form field). */
  description: string;
}

export interface PasswordPolicy {
  /** The workspace's minimum, in characters (code points). */
  minLength: number;
}

/** Who the password is for: it must not contain their username or email address. */
export interface PasswordOwner {
  username: string;
  email?: string | null;
}

/**
 * NFKC (ASVS §6.2.x, NIST 800-63B §5.1.1.2): the same password typed on two keyboards or input
 * methods (composed or decomposed accents, full-width digits) is one password. Applied before
 * hashing and before verifying (lib/platform/passwords.ts).
 */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

/** Length as people count it: code points, not UTF-16 units (an emoji is one character). */
function characters(text: string): number {
  return Array.from(text).length;
}

let common: Promise<ReadonlySet<string>> | undefined;

/**
 * The common-password list of @zxcvbn-ts/language-common (MIT; ~49,000 passwords from breach
 * corpora, ordered by frequency, lowercase), loaded at the first check and kept: bundled, never
 * fetched.
 */
function commonPasswords(): Promise<ReadonlySet<string>> {
  return (common ??= import("@zxcvbn-ts/language-common").then(({ dictionary }) => new Set(dictionary["passwords-common"])));
}

/** Case-insensitive comparison form: NFKC, then lowercase (the list itself is lowercase). */
const folded = (text: string) => normalizePassword(text).toLowerCase();

/**
 * Whether `candidate` leans on `identifier`: it contains it (case-insensitively, both normalised)
 * and what is left without it is shorter than the minimum length. "alice2024!" is refused for
 * alice, "alice-walks-the-dog-at-dawn" is not: the rest of it is a password on its own, and
 * guessing from the username gains an attacker nothing there (NIST SP 800-63B §3.1.1.2 asks to
 * refuse context-specific words, not every password that mentions one).
 */
function leansOn(candidate: string, identifier: string, minLength: number): boolean {
  if (characters(identifier) < MIN_IDENTIFIER_LENGTH || !candidate.includes(identifier)) return false;
  return characters(candidate.split(identifier).join("")) < minLength;
}

/**
 * The first rule `password` breaks, or null. "Contains the username or email" is read
 * case-insensitively on the normalised forms, for the whole username, the whole address and its
 * local part (before the `@`), each when at least 3 characters long: the password is refused when
 * it contains one and, without it, would be shorter than the minimum length (`leansOn`).
 */
export async function passwordViolation(password: string, policy: PasswordPolicy, owner: PasswordOwner): Promise<PasswordViolation | null> {
  const normalized = normalizePassword(password);
  const length = characters(normalized);
  if (length < policy.minLength) return { rule: "too_short", description: `the password must have at least ${policy.minLength} characters` };
  if (length > MAX_PASSWORD_LENGTH) return { rule: "too_long", description: `the password must have at most ${MAX_PASSWORD_LENGTH} characters` };
  const candidate = normalized.toLowerCase();
  if ((await commonPasswords()).has(candidate))
    return { rule: "common", description: "the password is too common: it is on a list of frequently used passwords" };
  if (leansOn(candidate, folded(owner.username), policy.minLength)) {
    return {
      rule: "contains_username",
      description: `the password must not be built on the username: without it, it must still have ${policy.minLength} characters`,
    };
  }
  const email = owner.email ? folded(owner.email) : "";
  if ([email, email.split("@", 1)[0] ?? ""].some((part) => leansOn(candidate, part, policy.minLength))) {
    return {
      rule: "contains_email",
      description: `the password must not be built on the email address: without it, it must still have ${policy.minLength} characters`,
    };
  }
  return null;
}

/** What a page may show before a password is submitted: the rules, not the list. */
export function publicPasswordPolicy(policy: PasswordPolicy) {
  return { min_length: policy.minLength, max_length: MAX_PASSWORD_LENGTH, rejects: ["common", "username", "email"] } as const;
}
