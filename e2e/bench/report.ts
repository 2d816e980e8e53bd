// The benchmark's measuring and reporting helpers (run.ts drives the scenarios).
import fs from "node:fs";
import os from "node:os";

/** Runs `work` while sampling the peak resident memory of process `pid` (Linux /proc). */
export async function withPeakRss<T>(pid: number | undefined, work: () => Promise<T>): Promise<[T, number]> {
  let peak = 0;
  const sample = () => {
    try {
      const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      peak = Math.max(peak, Number(kb ?? 0) * 1024);
    } catch {
      /* not Linux, or gone */
    }
  };
  const timer = setInterval(sample, 200);
  try {
    const result = await work();
    sample();
    return [result, peak];
  } finally {
    clearInterval(timer);
  }
}

/**
 * The `q` quantile (0 to 1) of `values` by nearest rank, 0 for none. The benchmark keeps every
 * response's latency as autocannon measures it (hrtime, fractions of a millisecond): its own
 * histogram counts whole milliseconds, too coarse for a p50 of 2 ms.
 */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** The median of `values` (nearest rank, as `quantile`) and their range, e.g. `0.940 (0.901–0.972)`. */
export function spread(values: number[]): string {
  const [median, low, high] = [0.5, 0, 1].map((q) => quantile(values, q).toFixed(3));
  return `${median} (${low}–${high})`;
}

/** One scenario's figures. */
export interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  rss: number;
  /** The server's CPU time per request (ms), all its threads: the main thread and libuv's pool. */
  cpu: number;
  /** Of the round's slowest 1% of answers, the share that came in its first EARLY_MS. */
  early: number;
  /**
   * On PostgreSQL, the database server's CPU time per request (ms): its backends that serve this
   * server's database. It shares the machine's cores with the server.
   */
  dbCpu?: number;
}

/** The start of a round whose share of the slowest answers the report gives (Row.early). */
export const EARLY_MS = 500;

/**
 * Of the answers at or above the p99 of `latencies`, the share that came (`times`, ms into the
 * round) in the round's first EARLY_MS: a server that was idle before the round, or a machine
 * waking up, shows here rather than in the steady state.
 */
export function earlyShare(latencies: number[], times: number[], p99: number): number {
  let slow = 0;
  let early = 0;
  for (let i = 0; i < latencies.length; i++) {
    if (latencies[i]! < p99) continue;
    slow += 1;
    if (times[i]! < EARLY_MS) early += 1;
  }
  return slow === 0 ? 0 : early / slow;
}

// Linux counts a process's CPU time in clock ticks of 1/100 s (USER_HZ).
const TICK_MS = 10;

/** The CPU time (ms, user and system, all threads) a process has used so far; 0 where /proc is not. */
export function cpuMs(pid: number | undefined): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command's name.
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** The CPU time (ms) each of `pids` has used so far (those gone are left out). */
export function cpuByPid(pids: number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, cpuMs(pid)] as const).filter(([, ms]) => ms > 0));
}

/** The CPU time (ms) processes used between two readings; one that started in between counts whole. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** The markdown table of the rows; on PostgreSQL, with the database server's CPU per request. */
export function table(rows: Row[]): string[] {
  const f = (n: number, d = 0) => n.toFixed(d);
  const ms = (n: number) => f(n, n < 10 ? 2 : 1);
  const db = rows.some((r) => r.dbCpu !== undefined);
  return [
    `| scenario | req/s | CPU ms/req |${db ? " database CPU ms/req |" : ""} p50 ms | p99 ms | p99 / p50 | errors | server RSS MB |`,
    `|---|---:|---:|${db ? "---:|" : ""}---:|---:|---:|---:|---:|`,
    ...rows.map(
      (r) =>
        `| ${r.name} | ${f(r.rps, 1)} | ${r.cpu ? f(r.cpu, 2) : "-"} |${db ? ` ${r.dbCpu === undefined ? "-" : f(r.dbCpu, 2)} |` : ""} ${ms(r.p50)} | ${ms(r.p99)} | ${f(tail(r), 2)} | ${r.errors} | ${r.rss ? f(r.rss / 2 ** 20) : "-"} |`,
    ),
  ];
}

/** A scenario's tail: its worst round's p99 over its rounds' mean p50. */
export const tail = (r: Row) => r.p99 / r.p50;

/** The row with the longest tail, as `1.23 (its name)`. */
export function longestTail(rows: Row[]): string {
  const worst = rows.reduce((a, r) => (tail(r) > tail(a) ? r : a));
  return `${tail(worst).toFixed(2)} (${worst.name})`;
}

/** Appends a full run, headed by its date and machine, to the results file. */
export function appendResults(file: string, table: string) {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const heading = `## ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC: ${os.availableParallelism()} × ${cpu}, ${f2(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}\n\n`;
  fs.appendFileSync(file, `\n${heading}${table}`);
}

const f2 = (n: number) => n.toFixed(0);
