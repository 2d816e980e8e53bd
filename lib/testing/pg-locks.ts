import pg from "pg";

/** A connection of the test's own to the PostgreSQL database the tests run on, with its server process id. */
export async function connection(): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  return { client, pid: rows[0]!.pid };
}

/** Resolves once another session waits for a lock that the session of `pid` holds (within 5 s). */
export async function someoneWaitsFor(pid: number): Promise<void> {
  const { client: observer } = await connection();
  try {
    for (let i = 0; i < 200; i++) {
      const { rows } = await observer.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [pid]);
      if (Number(rows[0]!.n) > 0) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`nobody waited for a lock of the session ${pid}`);
  } finally {
    await observer.end();
  }
}
