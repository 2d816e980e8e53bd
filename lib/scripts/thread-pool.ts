/**
 * The size `npm start` gives libuv's thread pool when UV_THREADPOOL_SIZE is not set: one thread
 * per core, and never fewer than two. The pool runs the password hashes (one per thread at a
 * time, each holding its 19 MiB), so Node's default of four leaves cores idle on a bigger machine
 * and, on a smaller one, runs more hashes at once than there are cores to run them: the extra ones
 * only take turns on the same cores, each holding its memory the while. Two at least, so that on a
 * machine of one core a hash never holds up the pool's other work alone (file writes, DNS lookups).
 */
export function poolSizeFor(cores: number): number {
  return Math.max(2, Math.floor(cores));
}
