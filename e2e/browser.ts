// The Chromium the browser suite and the benchmark drive. Playwright cannot download its own
// browser here, so Debian's: its headless shell (`chromium-headless-shell`, the build Playwright
// itself runs headless, about twice as quick per test as the full browser on two cores), else its
// full `chromium`; CHROMIUM_PATH names another. Playwright's own browser where none is installed.
import { existsSync } from "node:fs";

const DEBIAN = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"];

export function chromiumPath(): string | undefined {
  const named = process.env.CHROMIUM_PATH;
  if (named === undefined || named === "") return DEBIAN.find((file) => existsSync(file));
  if (!existsSync(named)) {
    throw new Error(
      `CHROMIUM_PATH=${named}: no such file. Name a Chromium executable, or unset CHROMIUM_PATH to use Debian's (apt-get install chromium-headless-shell).`,
    );
  }
  return named;
}
