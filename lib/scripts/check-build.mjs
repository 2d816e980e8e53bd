// Run by npm before `npm start` (the prestart script): without a production build, one line that
// says what to run, where Node would print a stack trace for a module it cannot find.
import fs from "node:fs";

// What `npm run build` leaves: Next's build (its id is written last), then the launcher.
const BUILT = [".next/BUILD_ID", ".next/launcher/start.cjs", ".next/launcher/start.mjs"];

const missing = BUILT.find((file) => !fs.existsSync(file));
if (missing !== undefined) {
  process.stderr.write(`Cannot start: there is no production build here (${missing} is missing): run npm run build first (npm run dev needs none).\n`);
  process.exit(1);
}
