// The machine's own tail: a bare `node:http` server that spends the same CPU on every request and
// does nothing else (no database, no cryptography, almost no garbage). Started by run.ts beside
// introspection's floor and peer; PORT from the environment. `GET /?us=N` spins for N microseconds
// of this process's CPU (a loop calibrated at start) and answers a constant JSON document.
// Whatever tail it shows under the benchmark's load is the machine's and the load generator's: two
// cores shared by the server, the load generator and the other servers' idle threads.
import { createServer } from "node:http";

let sink = 0;
function spin(iterations: number): void {
  let x = sink;
  for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0;
  sink = x;
}

/** Loop iterations per microsecond, measured over ~200 ms of CPU after the loop is optimised. */
function calibrate(): number {
  spin(5_000_000);
  const iterations = 2_000_000;
  let rounds = 0;
  const start = process.cpuUsage();
  let used = 0;
  while (used < 200_000) {
    spin(iterations);
    rounds += 1;
    const { user, system } = process.cpuUsage(start);
    used = user + system;
  }
  return (iterations * rounds) / used;
}

const perMicrosecond = calibrate();
const body = JSON.stringify({
  active: true,
  scope: "openid profile email",
  client_id: "demo-backend",
  token_type: "bearer",
  sub: "00000000-0000-0000-0000-000000000000",
});
const headers = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" };

// A round asks for one time throughout: its URL is parsed once, so that requests make no garbage.
let last = { url: "", iterations: 0 };
function iterationsFor(url: string): number {
  if (url !== last.url) {
    const us = Number(new URL(url, "http://localhost").searchParams.get("us") ?? 0);
    last = { url, iterations: Math.round(Math.min(Math.max(us, 0), 100_000) * perMicrosecond) || 0 };
  }
  return last.iterations;
}

createServer((req, res) => {
  const iterations = iterationsFor(req.url ?? "/");
  req.resume();
  req.on("end", () => {
    spin(iterations);
    res.writeHead(200, headers);
    res.end(body);
  });
}).listen(Number(process.env.PORT ?? 3203), "127.0.0.1");
