// `npm start`'s entry: `npm run build` bundles it into .next/launcher/start.cjs, a CommonJS file
// (lib/scripts/build.mjs). libuv sizes its thread pool once, when something first uses
// it, from UV_THREADPOOL_SIZE; the ES module loader does, reading the launcher's files, before the
// launcher's first line runs. This file runs first: it sizes the pool for the machine (unless the
// variable is set) and then loads the launcher, .next/launcher/start.mjs.
import { availableParallelism } from "node:os";
import path from "node:path";
import { poolSizeFor } from "@/lib/scripts/thread-pool.ts";
import { loadEnvFiles } from "@/lib/scripts/env-files.ts";

// The app's own folder, two above this file's (.next/launcher), whatever folder it was started
// from (a service manager's, without its working directory set): Next reads the build and .env
// there, the launcher the migrations, and a relative DATABASE_URL names a file there, as under
// `npm start`, which runs from it.
process.chdir(path.resolve(__dirname, "..", ".."));
// The project's env files before anything reads a setting: UV_THREADPOOL_SIZE, just below, may be
// in one (the launcher reads them again, from @next/env's cache, and names them).
(process.env as Record<string, string>).NODE_ENV = "production";
loadEnvFiles(true);
process.env.UV_THREADPOOL_SIZE ??= String(poolSizeFor(availableParallelism()));
// Beside this file once built (a path the bundler leaves as it is). Should it fail to load, the
// rejection ends the process with the error, as the launcher's own uncaught errors do.
const launcher = "./start.mjs";
void import(launcher);
