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

/** One scenario's figures. */
export interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  rss: number;
}

/** The markdown table of the rows. */
export function table(rows: Row[]): string[] {
  const f = (n: number, d = 0) => n.toFixed(d);
  // autocannon's latency histogram counts whole milliseconds: 0 means under one.
  const ms = (n: number) => (n === 0 ? "<1" : f(n, 1));
  return [
    `| scenario | req/s | p50 ms | p99 ms | errors | server RSS MB |`,
    `|---|---:|---:|---:|---:|---:|`,
    ...rows.map((r) => `| ${r.name} | ${f(r.rps, 1)} | ${ms(r.p50)} | ${ms(r.p99)} | ${r.errors} | ${r.rss ? f(r.rss / 2 ** 20) : "-"} |`),
  ];
}

/** Appends a full run, headed by its date and machine, to the results file. */
export function appendResults(file: string, table: string) {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  const heading = `## ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC: ${os.availableParallelism()} × ${cpu}, ${f2(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}\n\n`;
  fs.appendFileSync(file, `\n${heading}${table}`);
}

const f2 = (n: number) => n.toFixed(0);
