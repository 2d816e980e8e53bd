// Run by npm before `npm start` (the prestart script): without a production build, one line that
// says what to run, where Node would print a stack trace for a module it cannot find.
import fs from "node:fs";
import { buildSources, changedSources, nameFiles, SOURCES_FILE } from "./build-sources.mjs";

// What `npm run build` leaves: Next's build (its id is written last), then the launcher.
const BUILT = [".next/BUILD_ID", ".next/launcher/start.cjs", ".next/launcher/start.mjs", SOURCES_FILE];

const missing = BUILT.find((file) => !fs.existsSync(file));
if (missing !== undefined) {
  process.stderr.write(`Cannot start: there is no production build here (${missing} is missing): run npm run build first (npm run dev needs none).\n`);
  process.exit(1);
}
// And not from an older build than the code here (when the code is here: a build copied without
// its sources has nothing to be older than).
const changed = fs.existsSync("app") ? changedSources(JSON.parse(fs.readFileSync(SOURCES_FILE, "utf8")), buildSources(".")) : [];
if (changed.length > 0) {
  process.stderr.write(`Cannot start: the code here has changed since the production build was made (${nameFiles(changed)}): run npm run build again.\n`);
  process.exit(1);
}
