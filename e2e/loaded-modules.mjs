// Preloaded (NODE_OPTIONS=--import) into a production server by e2e/start.spec.ts: as the process
// exits, writes the files Node's CommonJS loader loaded on the main thread (the built routes among
// them, as Next requires them) to LOADED_MODULES_FILE, one per line. Not in a worker thread, whose
// exit would write its own list.
import fs from "node:fs";
import { createRequire } from "node:module";
import { isMainThread } from "node:worker_threads";

const require = createRequire(import.meta.url);

if (isMainThread) {
  process.on("exit", () => {
    if (process.env.LOADED_MODULES_FILE) fs.writeFileSync(process.env.LOADED_MODULES_FILE, Object.keys(require.cache).join("\n"));
  });
}
