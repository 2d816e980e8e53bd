// Preloaded (NODE_OPTIONS=--import) into a production server by e2e/start.spec.ts: as the process
// exits, writes the files Node's CommonJS loader loaded (the built routes among them, as Next
// requires them) to LOADED_MODULES_FILE, one per line.
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

process.on("exit", () => {
  if (process.env.LOADED_MODULES_FILE) fs.writeFileSync(process.env.LOADED_MODULES_FILE, Object.keys(require.cache).join("\n"));
});
