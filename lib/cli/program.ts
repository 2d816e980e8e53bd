import { Command, CommanderError, Option } from "commander";
import { z } from "zod";
import { audit, flushAudit } from "@/lib/platform/audit.ts";
import { db } from "@/lib/platform/db.ts";
import { settings } from "@/lib/platform/env.ts";
import type { Prisma } from "@/lib/generated/prisma/client.ts";
import { generateClientSecret, hashClientSecret } from "@/lib/oauth/client-auth/secrets.ts";
import { KeyRetirementRefused, listSigningKeys, retireSigningKey, rotateSigningKey } from "@/lib/oauth/store/signing-keys.ts";
import { pruneExpired } from "@/lib/oauth/store/retention.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";
import type { CliIo } from "@/lib/cli/io.ts";

/** A refusal with a message for the operator; exit status 1, nothing written. */
export class CliError extends Error {}

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;
const GRANTS = ["password", "refresh_token", "client_credentials"] as const;
const AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"] as const;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new CliError(`Invalid ${what}: ${result.error.issues[0]?.message ?? "invalid"}`);
  return result.data;
}

const list = (value: string | undefined) => (value ?? "").split(/[\s,]+/).filter(Boolean);
const unique = <T>(values: T[]) => [...new Set(values)];

const grantsOption = (v: string) => unique(parse(z.array(z.enum(GRANTS)).min(1), list(v), "grants"));
const scopesOption = (v: string) => unique(parse(z.array(z.string().regex(SCOPE_TOKEN, "scopes are printable ASCII without spaces, quotes or backslashes")).min(1), list(v), "scopes"));
const ttlOption = (v: string) => parse(z.coerce.number().int().min(1).max(365 * 24 * 3600), v, "lifetime (seconds)");
const originsOption = (v: string) =>
  unique(parse(z.array(z.string().refine((o) => URL.canParse(o) && new URL(o).origin === o, "an origin is scheme://host[:port], nothing more")), list(v), "origins"));
function authMethodsOption(v: string): string[] {
  const methods = unique(parse(z.array(z.enum(AUTH_METHODS)).min(1), list(v), "auth methods"));
  if (methods.includes("none") && methods.length > 1) throw new CliError("Invalid auth methods: none (a public client) cannot be combined with secrets");
  return methods;
}

async function workspaceRef(ref: string, tx: Prisma.TransactionClient = db()) {
  const [tenant, slug, ...rest] = ref.split("/");
  if (!tenant || !slug || rest.length || !SLUG.test(tenant) || !SLUG.test(slug)) throw new CliError(`Invalid workspace ${JSON.stringify(ref)}: write it tenant/workspace`);
  const workspace = await tx.workspace.findFirst({ where: { slug, tenant: { slug: tenant } } });
  if (!workspace) throw new CliError(`No workspace ${ref}`);
  return workspace;
}

function table(io: CliIo, rows: Record<string, unknown>[]): void {
  if (rows.length === 0) return io.out("(none)");
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? "-" : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join("  ").trimEnd();
  io.out([line(cols), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join("\n"));
}

/** One transaction per command, with its audit event inside it: all of it happens, or none. */
function change<T>(event: string, details: { workspaceId?: string; userId?: string; username?: string; reason?: string }, work: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> {
  return db().$transaction(async (tx) => {
    const result = await work(tx);
    await audit({ event: `admin.${event}`, outcome: "success", clientId: "cli", ...details }, undefined, tx);
    return result;
  });
}

export function buildProgram(io: CliIo): Command {
  const program = new Command("cli")
    .description("Administer the authorization server: workspaces, users, clients, signing keys, audit.")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  // ---- workspaces
  const ws = program.command("workspace").description("Tenants' workspaces (each one authorization server)");
  ws.command("list").description("List workspaces").action(async () => {
    const rows = await db().workspace.findMany({ include: { tenant: true }, orderBy: [{ tenant: { slug: "asc" } }, { slug: "asc" }] });
    table(io, rows.map((w) => ({ workspace: `${w.tenant.slug}/${w.slug}`, name: w.name, access_ttl: w.accessTokenTtl, id_ttl: w.idTokenTtl, refresh_ttl: w.refreshTokenTtl, default_scopes: w.defaultScopes })));
  });
  ws.command("create")
    .description("Create a workspace (and its tenant if new)")
    .argument("<tenant/workspace>")
    .option("--name <name>", "display name")
    .action(async (ref: string, o: { name?: string }) => {
      const [tenant = "", slug = "", ...rest] = ref.split("/");
      if (!SLUG.test(tenant) || !SLUG.test(slug) || rest.length) throw new CliError(`Invalid workspace ${JSON.stringify(ref)}: lowercase letters, digits and dashes, written tenant/workspace`);
      await change("workspace.create", { reason: ref }, async (tx) => {
        const t = await tx.tenant.upsert({ where: { slug: tenant }, update: {}, create: { slug: tenant, name: tenant } });
        if (await tx.workspace.findFirst({ where: { tenantId: t.id, slug } })) throw new CliError(`Workspace ${ref} exists already`);
        return tx.workspace.create({ data: { tenantId: t.id, slug, name: o.name ?? slug } });
      });
      io.out(`Created workspace ${ref}; its issuer is ${settings().APP_URL}/${ref}`);
    });
  ws.command("set")
    .description("Change a workspace's token lifetimes or default scopes")
    .argument("<tenant/workspace>")
    .option("--access-ttl <seconds>", "access token lifetime", ttlOption)
    .option("--id-ttl <seconds>", "ID token lifetime", ttlOption)
    .option("--refresh-ttl <seconds>", "refresh token lifetime", ttlOption)
    .option("--default-scopes <scopes>", "scopes granted when a client asks for none", scopesOption)
    .action(async (ref: string, o: { accessTtl?: number; idTtl?: number; refreshTtl?: number; defaultScopes?: string[] }) => {
      const w = await workspaceRef(ref);
      const data = { accessTokenTtl: o.accessTtl, idTokenTtl: o.idTtl, refreshTokenTtl: o.refreshTtl, defaultScopes: o.defaultScopes?.join(" ") };
      if (Object.values(data).every((v) => v === undefined)) throw new CliError("Nothing to change: give at least one option (see --help)");
      await change("workspace.set", { workspaceId: w.id, reason: JSON.stringify(data) }, (tx) => tx.workspace.update({ where: { id: w.id }, data }));
      io.out(`Updated workspace ${ref}`);
    });

  // ---- users
  const user = program.command("user").description("Users of a workspace's identity pool");
  user.command("list").argument("<tenant/workspace>").description("List users").action(async (ref: string) => {
    const w = await workspaceRef(ref);
    const rows = await db().user.findMany({ where: { workspaceId: w.id }, orderBy: { username: "asc" } });
    table(io, rows.map((u) => ({ username: u.username, id: u.id, email: u.email, name: u.name, disabled: u.disabled })));
  });
  user.command("add")
    .description("Add a user; the password is read from a prompt, or from standard input when piped")
    .argument("<tenant/workspace>")
    .argument("<username>")
    .option("--email <email>")
    .option("--name <name>")
    .option("--email-verified", "mark the email as verified", false)
    .action(async (ref: string, username: string, o: { email?: string; name?: string; emailVerified: boolean }) => {
      const w = await workspaceRef(ref);
      parse(z.string().min(1).max(255).regex(/^\S(.*\S)?$/, "no leading or trailing spaces"), username, "username");
      if (o.email !== undefined) parse(z.email(), o.email, "email");
      const password = await readNewPassword(io);
      const passwordHash = await hashPassword(password);
      await change("user.add", { workspaceId: w.id, username }, async (tx) => {
        if (await tx.user.findUnique({ where: { workspaceId_username: { workspaceId: w.id, username } } })) throw new CliError(`User ${username} exists already`);
        return tx.user.create({ data: { workspaceId: w.id, username, passwordHash, email: o.email, name: o.name, emailVerified: o.emailVerified } });
      });
      io.out(`Added user ${username} to ${ref}`);
    });
  for (const [name, disabled] of [["disable", true], ["enable", false]] as const) {
    user.command(name).description(`${name === "disable" ? "Disable" : "Enable"} a user (a disabled user cannot sign in or refresh)`).argument("<tenant/workspace>").argument("<username>").action(async (ref: string, username: string) => {
      const w = await workspaceRef(ref);
      await change(`user.${name}`, { workspaceId: w.id, username }, async (tx) => {
        const { count } = await tx.user.updateMany({ where: { workspaceId: w.id, username }, data: { disabled } });
        if (count === 0) throw new CliError(`No user ${username} in ${ref}`);
      });
      io.out(`${disabled ? "Disabled" : "Enabled"} user ${username}`);
    });
  }
  user.command("reset-password")
    .description("Set a new password (prompt or standard input), end the user's sessions and revoke their refresh tokens")
    .argument("<tenant/workspace>")
    .argument("<username>")
    .action(async (ref: string, username: string) => {
      const w = await workspaceRef(ref);
      const existing = await db().user.findUnique({ where: { workspaceId_username: { workspaceId: w.id, username } } });
      if (!existing) throw new CliError(`No user ${username} in ${ref}`);
      const passwordHash = await hashPassword(await readNewPassword(io));
      await change("user.reset_password", { workspaceId: w.id, userId: existing.id, username }, async (tx) => {
        await tx.user.update({ where: { id: existing.id }, data: { passwordHash } });
        const now = new Date();
        await tx.session.updateMany({ where: { userId: existing.id, endedAt: null }, data: { endedAt: now } });
        await tx.refreshToken.updateMany({ where: { userId: existing.id, revokedAt: null }, data: { revokedAt: now } });
      });
      io.out(`Reset the password of ${username}; their sessions are ended and refresh tokens revoked`);
    });

  // ---- clients
  const client = program.command("client").description("OAuth clients of a workspace");
  client.command("list").argument("<tenant/workspace>").description("List clients").action(async (ref: string) => {
    const w = await workspaceRef(ref);
    const rows = await db().client.findMany({ where: { workspaceId: w.id }, orderBy: { clientId: "asc" } });
    table(io, rows.map((c) => ({ client_id: c.clientId, auth: c.authMethods, grants: c.grantTypes, scopes: c.scopes, origins: c.allowedOrigins, forwards_ip: c.forwardsEndUserIp, disabled: c.disabled })));
  });
  client.command("add")
    .description("Add a client; a confidential client's secret is printed once, never stored in clear")
    .argument("<tenant/workspace>")
    .argument("<client-id>")
    .requiredOption("--grants <grants>", `grant types: ${GRANTS.join(", ")}`, grantsOption)
    .requiredOption("--scopes <scopes>", "scopes it may be granted", scopesOption)
    .option("--auth-methods <methods>", `${AUTH_METHODS.join(", ")}`, authMethodsOption, ["client_secret_basic"])
    .option("--name <name>")
    .option("--origins <origins>", "browser origins allowed to call (CORS)", originsOption, [])
    .option("--audiences <audiences>", "extra access-token audiences", list, [])
    .option("--forwards-end-user-ip", "trust it to pass its end users' addresses (ropc-forwarded-for)", false)
    .action(async (ref: string, clientId: string, o: { grants: string[]; scopes: string[]; authMethods: string[]; name?: string; origins: string[]; audiences: string[]; forwardsEndUserIp: boolean }) => {
      const w = await workspaceRef(ref);
      parse(z.string().regex(/^[\x21-\x7e]{1,255}$/, "printable ASCII without spaces, at most 255 characters"), clientId, "client id");
      const isPublic = o.authMethods.includes("none");
      if (isPublic && o.grants.includes("client_credentials")) throw new CliError("A public client cannot use client_credentials");
      if (isPublic && o.forwardsEndUserIp) throw new CliError("Only a confidential client can be trusted with its end users' addresses");
      const secret = isPublic ? undefined : generateClientSecret();
      await change("client.add", { workspaceId: w.id, reason: clientId }, async (tx) => {
        if (await tx.client.findUnique({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } } })) throw new CliError(`Client ${clientId} exists already`);
        return tx.client.create({
          data: {
            workspaceId: w.id, clientId, name: o.name ?? clientId, type: isPublic ? "public" : "confidential", secretHash: secret ? hashClientSecret(secret) : null,
            authMethods: o.authMethods.join(" "), grantTypes: o.grants.join(" "), scopes: o.scopes.join(" "),
            allowedOrigins: o.origins.join(" "), audiences: o.audiences.join(" "), forwardsEndUserIp: o.forwardsEndUserIp,
          },
        });
      });
      io.out(`Added client ${clientId} to ${ref}`);
      if (secret) io.out(`client_secret: ${secret}\n(shown once: store it now)`);
    });
  client.command("rotate-secret")
    .description("Give a confidential client a new secret (printed once); the old one stops working")
    .argument("<tenant/workspace>")
    .argument("<client-id>")
    .action(async (ref: string, clientId: string) => {
      const w = await workspaceRef(ref);
      const secret = generateClientSecret();
      await change("client.rotate_secret", { workspaceId: w.id, reason: clientId }, async (tx) => {
        const c = await tx.client.findUnique({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } } });
        if (!c) throw new CliError(`No client ${clientId} in ${ref}`);
        if (c.type === "public") throw new CliError(`${clientId} is a public client: it has no secret`);
        await tx.client.update({ where: { id: c.id }, data: { secretHash: hashClientSecret(secret) } });
      });
      io.out(`client_secret: ${secret}\n(shown once: store it now)`);
    });
  client.command("set")
    .description("Change a client's grants, scopes, auth methods, origins, lifetimes or state")
    .argument("<tenant/workspace>")
    .argument("<client-id>")
    .option("--grants <grants>", "grant types", grantsOption)
    .option("--scopes <scopes>", "scopes it may be granted", scopesOption)
    .option("--default-scopes <scopes>", "scopes it gets when it asks for none", scopesOption)
    .option("--auth-methods <methods>", "client_secret_basic and/or client_secret_post (a confidential client)", authMethodsOption)
    .option("--origins <origins>", "browser origins allowed to call (CORS)", originsOption)
    .option("--access-ttl <seconds>", "access token lifetime", ttlOption)
    .option("--id-ttl <seconds>", "ID token lifetime", ttlOption)
    .option("--refresh-ttl <seconds>", "refresh token lifetime", ttlOption)
    .addOption(new Option("--forwards-end-user-ip <yes|no>", "trust it with its end users' addresses").choices(["yes", "no"]))
    .addOption(new Option("--state <state>", "enable or disable the client").choices(["enabled", "disabled"]))
    .action(async (ref: string, clientId: string, o: Record<string, unknown>) => {
      const w = await workspaceRef(ref);
      const join = (v: unknown) => (Array.isArray(v) ? v.join(" ") : undefined);
      const data = {
        grantTypes: join(o.grants), scopes: join(o.scopes), defaultScopes: join(o.defaultScopes), authMethods: join(o.authMethods), allowedOrigins: join(o.origins),
        accessTokenTtl: o.accessTtl as number | undefined, idTokenTtl: o.idTtl as number | undefined, refreshTokenTtl: o.refreshTtl as number | undefined,
        forwardsEndUserIp: o.forwardsEndUserIp === undefined ? undefined : o.forwardsEndUserIp === "yes",
        disabled: o.state === undefined ? undefined : o.state === "disabled",
      };
      if (Object.values(data).every((v) => v === undefined)) throw new CliError("Nothing to change: give at least one option (see --help)");
      await change("client.set", { workspaceId: w.id, reason: `${clientId} ${Object.keys(data).filter((k) => data[k as keyof typeof data] !== undefined).join(",")}` }, async (tx) => {
        const c = await tx.client.findUnique({ where: { workspaceId_clientId: { workspaceId: w.id, clientId } } });
        if (!c) throw new CliError(`No client ${clientId} in ${ref}`);
        const isPublic = c.type === "public";
        const methods = (data.authMethods ?? c.authMethods).split(" ");
        if (isPublic !== methods.includes("none")) throw new CliError(isPublic ? "A public client authenticates with none only" : "A confidential client needs client_secret_basic or client_secret_post");
        const scopes = (data.scopes ?? c.scopes).split(" ");
        const defaults = (data.defaultScopes ?? c.defaultScopes ?? "").split(" ").filter(Boolean);
        if (defaults.some((s) => !scopes.includes(s))) throw new CliError("Default scopes must be among the client's scopes");
        await tx.client.update({ where: { id: c.id }, data });
      });
      io.out(`Updated client ${clientId} (takes effect within ${settings().CONFIG_CACHE_SECONDS} s on every instance)`);
    });

  // ---- signing keys
  const key = program.command("key").description("ES256 signing keys (deployment-wide)");
  key.command("list").description("List keys and their states").action(async () => {
    table(io, (await listSigningKeys()).map((k) => ({ kid: k.kid, state: k.state, active_from: k.activeFrom, superseded_at: k.supersededAt, retired_at: k.retiredAt })));
  });
  key.command("rotate")
    .description("Create a new key: published now, signing after the delay; the old key keeps verifying until its tokens have expired")
    .option("--delay <seconds>", "how long the new key is published before it signs (default KEY_ROTATION_DELAY_SECONDS)", (v) => parse(z.coerce.number().int().min(0).max(604800), v, "delay"))
    .action(async (o: { delay?: number }) => {
      const delay = o.delay ?? settings().KEY_ROTATION_DELAY_SECONDS;
      const kid = await change("key.rotate", { reason: `delay ${delay}s` }, (tx) => rotateSigningKey(delay, tx));
      io.out(`New key ${kid}: published now, signs from ${new Date(Date.now() + delay * 1000).toISOString()}`);
    });
  key.command("retire")
    .description("Stop publishing a key (refused while it signs or may still verify live tokens)")
    .argument("<kid>")
    .option("--force", "retire it even so: tokens it signed stop verifying", false)
    .action(async (kid: string, o: { force: boolean }) => {
      await change("key.retire", { reason: kid }, async (tx) => {
        try {
          await retireSigningKey(kid, { force: o.force }, tx);
        } catch (err) {
          if (err instanceof KeyRetirementRefused) throw new CliError(err.message);
          throw err;
        }
      });
      io.out(`Retired key ${kid}`);
    });

  // ---- audit
  const auditCmd = program.command("audit").description("The audit trail");
  auditCmd.command("tail")
    .description("The latest events, newest last")
    .option("--user <username>", "only this username")
    .addOption(new Option("--outcome <outcome>", "only this outcome").choices(["success", "failure", "locked"]))
    .option("--event <prefix>", "only events starting with this, e.g. token.password or admin.")
    .option("--limit <n>", "how many", (v) => parse(z.coerce.number().int().min(1).max(10000), v, "limit"), 50)
    .option("--json", "one JSON object per line", false)
    .action(async (o: { user?: string; outcome?: string; event?: string; limit: number; json: boolean }) => {
      await flushAudit();
      const rows = await db().auditEvent.findMany({
        // Event names are lower-case; the prefix is lower-cased so that SQLite (whose LIKE ignores
        // ASCII case) and PostgreSQL (whose LIKE does not) select the same rows.
        where: { username: o.user, outcome: o.outcome, event: o.event ? { startsWith: o.event.toLowerCase() } : undefined },
        orderBy: { createdAt: "desc" },
        take: o.limit,
      });
      rows.reverse();
      if (o.json) return io.out(rows.map((r) => JSON.stringify(r)).join("\n") || "");
      table(io, rows.map((r) => ({ time: r.createdAt, event: r.event, outcome: r.outcome, client: r.clientId, user: r.username, ip: r.ip, reason: r.reason })));
    });

  // ---- retention
  program.command("prune")
    .description("Delete expired refresh tokens, sessions and denylist entries, old failed sign-ins and known addresses, and audit events past AUDIT_RETENTION_DAYS (the server also does it every PRUNE_INTERVAL_SECONDS)")
    .action(async () => {
      await flushAudit();
      const pruned = await pruneExpired();
      table(io, Object.entries(pruned).map(([kind, deleted]) => ({ kind, deleted })));
    });

  return program;
}

async function readNewPassword(io: CliIo): Promise<string> {
  const password = await io.readSecret("Password: ");
  if (password.length < 8) throw new CliError("The password must have at least 8 characters");
  if (password.length > 1024) throw new CliError("The password must have at most 1024 characters");
  return password;
}

/** Runs one command line; returns the exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      io.err(`Error: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
