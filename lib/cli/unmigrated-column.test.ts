import { expect, it } from "vitest";
import { cli } from "@/lib/testing/cli.ts";
import { db } from "@/lib/platform/db.ts";

// A file of its own: it takes a column away from this file's database. A build's CLI run before
// its `npm start` (or `npm run setup`) has migrated the database meets one missing.
it("says a database that lacks a column of this build needs `npm run setup`, without a stack trace", async () => {
  await db().$executeRawUnsafe(`ALTER TABLE "Client" DROP COLUMN "passwordResetUri"`);
  expect(await cli(["client", "list", "demo/default"])).toMatchObject({
    status: 1,
    out: "",
    err: "Error: The database has no tables of this app, or lacks some (it was never set up, or this build is newer): run `npm run setup`, which migrates it.\n",
  });
});
