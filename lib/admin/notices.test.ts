import { spawn } from "node:child_process";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backgroundSettled } from "@/lib/platform/background.ts";
import { db } from "@/lib/platform/db.ts";
import { startEnrolment } from "@/lib/oauth/store/mfa.ts";
import { cli } from "@/lib/testing/cli.ts";
import { smtpServerForTheseTests, type ReceivedMail } from "@/lib/testing/smtp.ts";

// An operator's change to how an account is signed in to (a password set, an address changed or
// removed, the second factors reset) was mailed to nobody: the owner of an account changed
// without them, by a mistaken or a malicious operator, never learnt of it.

const smtp = smtpServerForTheseTests("Demo Login <no-reply@example.com>");
afterEach(() => backgroundSettled());
afterEach(() => vi.restoreAllMocks());

/** What a command mailed, once the work it left for after its answer is done. */
async function mailedBy(args: string[], secrets?: string[]): Promise<ReceivedMail[]> {
  await backgroundSettled();
  const before = smtp.received.length;
  const { status, err } = await cli(args, { secrets });
  expect({ status, err }).toEqual({ status: 0, err: "" });
  await backgroundSettled();
  return smtp.received.slice(before);
}

function expectNotice(mails: ReceivedMail[], to: string, subject: string, says: string): void {
  expect(mails.map((m) => [m.rcptTo, m.subject])).toEqual([[[to], subject]]);
  const [mail] = mails as [ReceivedMail];
  expect(mail.text).toContain(says);
  expect(mail.text).toContain(
    "If you asked for this, there is nothing more to do. If you did not, ask the people who run this service for help straight away.",
  );
  expect(mail.text).not.toMatch(/https?:\/\//);
}

async function newUser(username: string, email: string | null = `${username}@example.com`) {
  const workspaceId = (await db().workspace.findFirstOrThrow({ where: { slug: "default" } })).id;
  const { passwordHash } = await db().user.findFirstOrThrow({ where: { username: "alice" } });
  await db().user.create({ data: { workspaceId, username, passwordHash, email, emailVerified: email !== null } });
}

describe("an operator's change is mailed to the account's owner", () => {
  it("user reset-password: to the account's address, no password in it", async () => {
    await newUser("op-reset");
    const mails = await mailedBy(["user", "reset-password", "demo/default", "op-reset"], ["an operator's passphrase 41"]);
    expectNotice(
      mails,
      "op-reset@example.com",
      "Your password for Default workspace was changed",
      "The password of the account op-reset at Default workspace was set by an administrator of this service. Every session of the account was signed out.",
    );
    expect(mails[0]?.text).not.toContain("an operator's passphrase 41");
  });

  it("user set --email: to the old address, the new one masked; a removed address is told too", async () => {
    await newUser("op-moved");
    expectNotice(
      await mailedBy(["user", "set", "demo/default", "op-moved", "--email", "elsewhere@example.net"]),
      "op-moved@example.com",
      "Your email address for Default workspace was changed",
      "The email address of the account op-moved at Default workspace was changed by an administrator of this service to e***@example.net.",
    );
    expectNotice(
      await mailedBy(["user", "set", "demo/default", "op-moved", "--email", ""]),
      "elsewhere@example.net",
      "Your email address for Default workspace was changed",
      "The email address of the account op-moved at Default workspace was removed by an administrator of this service: mails about the account no longer go to this address.",
    );
  });

  it("user reset-mfa: to the account's address when it removed a factor, and nothing when there was none", async () => {
    const mails = await mailedBy(["user", "reset-mfa", "demo/default", "dave"]);
    expectNotice(
      mails,
      "dave@example.com",
      "Two-step verification turned off for Default workspace",
      "Two-step verification was turned off for the account dave at Default workspace by an administrator of this service",
    );
    expect(await mailedBy(["user", "reset-mfa", "demo/default", "dave"])).toEqual([]);
  });

  it("user reset-mfa: nothing when it removed only an enrolment never confirmed (it turned nothing off)", async () => {
    await newUser("op-pending");
    const user = await db().user.findFirstOrThrow({ where: { username: "op-pending" } });
    await startEnrolment(user.id, "JBSWY3DPEHPK3PXP", ["a"]);
    expect(await mailedBy(["user", "reset-mfa", "demo/default", "op-pending"])).toEqual([]);
    expect(await db().mfaFactor.count({ where: { userId: user.id } })).toBe(0);
  });

  it("user set --email: to the address it replaces as the change finds it, not as the command read it before", async () => {
    await newUser("op-raced");
    const user = await db().user.findFirstOrThrow({ where: { username: "op-raced" } });
    // The user's own confirmation of a new address lands after the command read the user, before its change.
    const findUnique = db().user.findUnique.bind(db().user);
    const read = vi.spyOn(db().user, "findUnique").mockImplementationOnce((async (args: Parameters<typeof findUnique>[0]) => {
      const found = await findUnique(args);
      await db().user.update({ where: { id: user.id }, data: { email: "own-new@example.com" } });
      return found;
    }) as unknown as typeof findUnique);
    expectNotice(
      await mailedBy(["user", "set", "demo/default", "op-raced", "--email", "operator-set@example.net"]),
      "own-new@example.com",
      "Your email address for Default workspace was changed",
      "The email address of the account op-raced at Default workspace was changed by an administrator of this service to o***@example.net.",
    );
    expect(read).toHaveBeenCalled();
  });

  it("mails nothing for a change of name or username, of the address's letter case only, or to an account without an address", async () => {
    await newUser("op-quiet");
    await newUser("op-no-address", null);
    await newUser("op-case");
    expect(await mailedBy(["user", "set", "demo/default", "op-case", "--email", "OP-Case@Example.COM"])).toEqual([]);
    expect((await db().user.findFirst({ where: { username: "op-case" } }))?.email).toBe("OP-Case@Example.COM");
    expect(await mailedBy(["user", "set", "demo/default", "op-quiet", "--name", "Quiet Example", "--username", "op-quieter"])).toEqual([]);
    expect(await mailedBy(["user", "reset-password", "demo/default", "op-no-address"], ["an operator's passphrase 42"])).toEqual([]);
    expect(await mailedBy(["user", "set", "demo/default", "op-no-address", "--email", "found@example.com"])).toEqual([]);
  });

  // `npm run cli` ends its process once the command is done: the mail must be out by then.
  it("is sent before npm run cli's process ends", async () => {
    await newUser("op-process");
    const before = smtp.received.length;
    const root = path.resolve(import.meta.dirname, "../..");
    const child = spawn(process.execPath, ["--import", "tsx", "lib/cli/main.ts", "user", "reset-password", "demo/default", "op-process"], {
      cwd: root,
      env: { ...process.env, SMTP_URL: smtp.url, MAIL_FROM: "Demo Login <no-reply@example.com>" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.end("an operator's passphrase 43\n");
    let err = "";
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect({ status, err }).toEqual({ status: 0, err: "" });
    expect(smtp.received.slice(before).map((m) => [m.rcptTo, m.subject])).toEqual([
      [["op-process@example.com"], "Your password for Default workspace was changed"],
    ]);
  });
});
