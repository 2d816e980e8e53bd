import { randomBytes } from "node:crypto";
import { hash, verify } from "@node-rs/argon2";
import { measurePasswordHashes } from "@/lib/platform/metrics.ts";
import { childSpan, tracing } from "@/lib/platform/tracing.ts";
import { normalizePassword } from "@/lib/platform/password-policy.ts";

/**
 * argon2id with the OWASP Password Storage Cheat Sheet's first recommended parameters:
 * m=19456 KiB, t=2, p=1. Argon2id is the library's default algorithm. The async functions run on
 * libuv's thread pool, so a verification (~15 ms of CPU) never blocks the event loop.
 */
export const PASSWORD_HASH_OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/**
 * The threads of libuv's pool, as libuv reads UV_THREADPOOL_SIZE when the pool starts: 4 when
 * unset, else the number it begins with (C's atoi, unsigned: nothing readable or 0 gives 1, a
 * negative number or one above 1024 gives 1024).
 */
export function threadPoolSize(value: string | undefined = process.env.UV_THREADPOOL_SIZE): number {
  if (value === undefined) return 4;
  const [, sign, digits] = /^\s*([+-]?)(\d*)/.exec(value) ?? [];
  const n = Number(digits || "0");
  if (n === 0) return 1;
  return sign === "-" ? 1024 : Math.min(n, 1024);
}

/**
 * What the start logs of password hashing's capacity: at most one hash per thread of the pool
 * at once, so a pool smaller than the machine's cores leaves cores idle under a sign-in load (the
 * default of 4 on a bigger machine). Each hash holds its 19 MiB while it runs.
 */
export function hashingCapacity(cores: number, threads: number): { level: "info" | "warn"; message: string } {
  const perHash = PASSWORD_HASH_OPTIONS.memoryCost / 1024;
  if (threads < cores) {
    return {
      level: "warn",
      message: `password hashing: ${threads} at once on ${cores} cores (libuv's thread pool): set UV_THREADPOOL_SIZE=${cores} to use every core (each hash holds ${perHash} MiB while it runs)`,
    };
  }
  return { level: "info", message: `password hashing: up to ${threads} at once (UV_THREADPOOL_SIZE), up to ${threads * perHash} MiB, on ${cores} cores` };
}

// Hashes under way: libuv's pool runs one per thread at once, the rest wait.
const POOL_SIZE = threadPoolSize();
let pending = 0;
measurePasswordHashes(() => ({ running: Math.min(pending, POOL_SIZE), waiting: Math.max(0, pending - POOL_SIZE) }));

async function counted<T>(work: () => Promise<T>): Promise<T> {
  pending += 1;
  try {
    return await work();
  } finally {
    pending -= 1;
  }
}

// A child span of the request under way when traces are exported: what argon2 costs, and how long
// a request waited for a thread of the pool. It carries the algorithm, never the password or the hash.
const SPAN_ATTRIBUTES = { "ropc.password.algorithm": "argon2id" } as const;

/** The hash of the password's NFKC form (password-policy.ts), as every password is stored. */
export function hashPassword(password: string): Promise<string> {
  const normalized = normalizePassword(password);
  const work = () => counted(() => hash(normalized, PASSWORD_HASH_OPTIONS));
  return tracing.tracer ? childSpan("password.hash", SPAN_ATTRIBUTES, work) : work();
}

/**
 * The verifier the password grant calls, as an object so that tests can observe each call
 * (ES module exports cannot be spied on).
 */
export const passwordVerifier = {
  /**
   * Constant-time within argon2; false (never a throw) for a malformed stored hash. The password's
   * NFKC form is verified; when that differs from what was typed and does not match, what was
   * typed is tried too: hashes stored before passwords were normalised were made of the password
   * as typed, and their users must still get in. The second try depends only on the password, not
   * on the account, so an unknown user's dummy verification costs the same.
   */
  verify(storedHash: string, password: string): Promise<boolean> {
    return tracing.tracer ? childSpan("password.verify", SPAN_ATTRIBUTES, () => verifiedAnyForm(storedHash, password)) : verifiedAnyForm(storedHash, password);
  },
};

async function verifiedAnyForm(storedHash: string, password: string): Promise<boolean> {
  const normalized = normalizePassword(password);
  if (await verified(storedHash, normalized)) return true;
  return normalized !== password && verified(storedHash, password);
}

async function verified(storedHash: string, password: string): Promise<boolean> {
  try {
    return await counted(() => verify(storedHash, password));
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/**
 * A hash of a random password, made once per process with the same parameters as real ones.
 * Verifying against it costs what verifying a real user's password costs, so an unknown username
 * cannot be told from a wrong password by timing.
 */
export function dummyPasswordHash(): Promise<string> {
  return (dummy ??= hashPassword(randomBytes(32).toString("base64url")));
}
