import Database from "better-sqlite3";
import pg from "pg";
import { afterEach, expect, it, vi } from "vitest";
import { captureRequestLogs } from "@/lib/testing/logs.ts";
import { isPostgresUrl } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import { ALICE, postToken, signIn, SPA } from "@/lib/testing/oauth.ts";

// A request that the database keeps waiting (here for another process's lock) is answered once
// DATABASE_TIMEOUT_SECONDS has passed, as a server_error without internals, instead of hanging
// on; the server goes on serving. Set before the first use of the database makes its client.
settings().DATABASE_TIMEOUT_SECONDS = 1;

/** Holds the write lock of the tables a sign-in writes (SQLite: the database's one), until released. */
async function holdLock(): Promise<() => Promise<void>> {
  const url = process.env.DATABASE_URL!;
  if (!isPostgresUrl(url)) {
    const other = new Database(settings().databaseFile!);
    other.exec("BEGIN IMMEDIATE");
    return async () => {
      other.exec("ROLLBACK");
      other.close();
    };
  }
  const other = new pg.Client({ connectionString: url });
  await other.connect();
  await other.query('BEGIN; LOCK TABLE "RefreshToken" IN EXCLUSIVE MODE');
  return async () => {
    await other.query("ROLLBACK");
    await other.end();
  };
}

// The log capture is undone in the test, before its last sign-in; here too when an assertion fails first.
afterEach(() => vi.restoreAllMocks());

it("answers a sign-in that waited past DATABASE_TIMEOUT_SECONDS with server_error, and the next one normally", async () => {
  // Connected and warm first: the lock is what the request meets.
  await signIn();
  const release = await holdLock();
  const logged = captureRequestLogs();
  let res: Response;
  const start = performance.now();
  try {
    res = await postToken({ grant_type: "password", ...SPA, ...ALICE });
  } finally {
    await release();
  }
  // The limit (not the default of 5 s) and the password's hash.
  expect(performance.now() - start).toBeLessThan(4000);
  expect(res.status).toBe(500);
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(await res.json()).toEqual({ error: "server_error", error_description: "the server could not handle the request" });
  // The operator is told which wait it was and which setting bounds it.
  expect(logged().filter((line) => line.level === 50)).toEqual([
    expect.objectContaining({
      event: "db.timeout",
      wait: "statement",
      msg: "the database kept the request waiting past DATABASE_TIMEOUT_SECONDS",
    }),
  ]);
  vi.restoreAllMocks();
  expect((await signIn()).refresh_token).toEqual(expect.any(String));
});
