import fs from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { AUDIT_OUTCOMES, prune, tailAudit, tailLimit } from "@/lib/admin/audit.ts";
import { backupDatabase, restoreDatabase } from "@/lib/admin/backups.ts";
import { addClient, DEFAULT_AUTH_METHODS, deleteClient, listClients, rotateClientSecret, setClient } from "@/lib/admin/clients.ts";
import type { Deletion } from "@/lib/admin/deletions.ts";
import { AdminError, NothingToChange } from "@/lib/admin/errors.ts";
import { listKeys, retireKey, rotateKey, rotationDelay } from "@/lib/admin/keys.ts";
import { addUser, deleteUser, listUsers, resetPassword, setUser, setUserDisabled } from "@/lib/admin/users.ts";
import { listFactors, resetFactors } from "@/lib/admin/mfa.ts";
import {
  AUTH_METHODS,
  AUTH_SIGNING_ALGS,
  authMethods,
  GRANT_TYPES,
  grantTypes,
  lifetime,
  origins,
  passwordMinLength,
  scopeTokens,
} from "@/lib/admin/values.ts";
import { MFA_POLICIES } from "@/lib/oauth/model/mfa.ts";
import { SIGNING_ALGS } from "@/lib/oauth/protocol/algorithms.ts";
import { sealStoredSecrets } from "@/lib/admin/at-rest.ts";
import { createWorkspace, deleteWorkspace, listWorkspaces, setWorkspace } from "@/lib/admin/workspaces.ts";
import { setBranding, showBranding } from "@/lib/admin/branding.ts";
import { Cancelled, type CliIo } from "@/lib/cli/io.ts";
import { assertProductionSettings, ConfigError, parseSettings, settings, type Env } from "@/lib/platform/env.ts";
import { SealedValueError } from "@/lib/platform/at-rest.ts";
import { loginWorkspace } from "@/lib/scripts/setup.ts";
import { databaseTimeout, databaseUnusable } from "@/lib/platform/database-timeout.ts";

// A thin layer over lib/admin: each command parses its arguments, calls one use case and prints
// what it returns. The rules (and their messages) are the use cases'.

/** A list option: names separated by commas and/or spaces. */
const list = (value: string | undefined) => (value ?? "").split(/[\s,]+/).filter(Boolean);

const grantsOption = (v: string) => grantTypes(list(v));

/** A JSON file (a JWK Set), read and parsed; the use case validates what it holds. */
function jwksFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new AdminError(`Cannot read ${file}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new AdminError(`${file} is not JSON`);
  }
}
const scopesOption = (v: string) => scopeTokens(list(v));
const authMethodsOption = (v: string) => authMethods(list(v));
const originsOption = (v: string) => origins(list(v));

function table(io: CliIo, rows: Record<string, unknown>[]): void {
  if (rows.length === 0) return io.out("(none)");
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? "-" : Array.isArray(v) ? v.join(" ") : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  io.out([line(cols), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join("\n"));
}

/**
 * Rows as a table, or as a JSON array for scripts (`--json`): every field of the rows under the
 * same snake_case names, dates in ISO 8601, absent values as null; never a secret. The table
 * shows `columns` when given.
 */
function print(io: CliIo, rows: Record<string, unknown>[], json: boolean, columns?: readonly string[]): void {
  if (json) return io.out(JSON.stringify(rows, null, 2));
  table(io, columns ? rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c]]))) : rows);
}

const JSON_HELP = "a JSON array, for scripts";

const SHOWN_ONCE = "(shown once: store it now)";

/**
 * How a new password is asked for: twice at a terminal (a typo would lock the user out), once
 * from standard input when it is piped.
 */
function newPassword(io: CliIo): () => Promise<string> {
  return async () => {
    const password = await io.readSecret("Password: ");
    if (password === "") throw new AdminError(io.interactive ? "No password was given" : "No password was given: standard input was empty");
    if (io.interactive && (await io.readSecret("Password again: ")) !== password) throw new AdminError("The two passwords differ: nothing was changed");
    return password;
  };
}

/** Whether to go ahead: `--yes`, or a yes at the prompt; without a terminal, only `--yes`. */
async function confirmed(io: CliIo, yes: boolean, question: string): Promise<boolean> {
  if (yes) return true;
  if (!io.interactive) {
    io.err("Standard input is not a terminal: give --yes to confirm");
    return false;
  }
  return io.confirm(`${question} [y/N] `);
}

/** Whether a client is the login app's own: LOGIN_CLIENT_ID, in OAUTH_ISSUER's workspace when that is this app's. */
function isLoginAppClient(ref: string, clientId: string): boolean {
  const s = settings();
  if (clientId !== s.LOGIN_CLIENT_ID) return false;
  try {
    return loginWorkspace(s.APP_URL, s.OAUTH_ISSUER ?? `${s.APP_URL}/demo/default`) === ref;
  } catch (err) {
    // OAUTH_ISSUER is another server's: its client is not in this database.
    if (err instanceof ConfigError) return false;
    throw err;
  }
}

/** What a deletion's sessions and tokens became, in the operator's words. */
function deletionSummary(d: Deletion): string {
  return [
    `Ended ${d.sessions} session(s) and revoked ${d.refreshTokens} refresh token(s) (deleted with it): no refresh works again.`,
    `Access tokens already issued: introspection and userinfo refuse them now; a resource server that verifies them itself accepts them until they expire (within ${d.accessTokenTtl} s).`,
  ].join("\n");
}

const endsWhat = (d: Deletion) => `${d.sessions} live session(s) end and ${d.refreshTokens} refresh token(s) are revoked.`;

export function buildProgram(io: CliIo): Command {
  const program = new Command("cli")
    .description("Administer the authorization server: workspaces, users, clients, signing keys, audit.")
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .showHelpAfterError();

  // ---- workspaces
  const ws = program.command("workspace").description("Tenants' workspaces (each one authorization server)");
  ws.command("list")
    .description("List workspaces")
    .option("--json", JSON_HELP, false)
    .action(async (o: { json: boolean }) => {
      print(
        io,
        (await listWorkspaces()).map((w) => ({
          workspace: w.ref,
          name: w.name,
          access_ttl: w.accessTokenTtl,
          id_ttl: w.idTokenTtl,
          refresh_ttl: w.refreshTokenTtl,
          default_scopes: w.defaultScopes,
          mfa_policy: w.mfaPolicy,
          dpop_nonces: w.dpopNonces,
          password_min_length: w.passwordMinLength,
        })),
        o.json,
      );
    });
  ws.command("create")
    .description("Create a workspace (and its tenant if new)")
    .argument("<tenant/workspace>")
    .option("--name <name>", "display name")
    .action(async (ref: string, o: { name?: string }) => {
      const { issuer } = await createWorkspace({ ref, name: o.name });
      io.out(`Created workspace ${ref}; its issuer is ${issuer}`);
    });
  ws.command("set")
    .description("Change a workspace's token lifetimes, default scopes, MFA policy, DPoP nonces or password minimum length")
    .argument("<tenant/workspace>")
    .option("--access-ttl <seconds>", "access token lifetime", lifetime)
    .option("--id-ttl <seconds>", "ID token lifetime", lifetime)
    .option("--refresh-ttl <seconds>", "refresh token lifetime", lifetime)
    .option("--default-scopes <scopes>", "scopes granted when a client asks for none", scopesOption)
    .addOption(new Option("--mfa-policy <policy>", "who must pass a second factor").choices(MFA_POLICIES))
    .addOption(new Option("--dpop-nonces <on|off>", "require server-provided nonces in DPoP proofs (RFC 9449 §8)").choices(["on", "off"]))
    .option("--password-min-length <characters>", "the shortest password accepted when one is set (8 to 64; 15 recommended)", passwordMinLength)
    .action(
      async (
        ref: string,
        o: {
          accessTtl?: number;
          idTtl?: number;
          refreshTtl?: number;
          defaultScopes?: string[];
          mfaPolicy?: string;
          dpopNonces?: "on" | "off";
          passwordMinLength?: number;
        },
      ) => {
        await setWorkspace(ref, {
          accessTokenTtl: o.accessTtl,
          idTokenTtl: o.idTtl,
          refreshTokenTtl: o.refreshTtl,
          defaultScopes: o.defaultScopes,
          mfaPolicy: o.mfaPolicy,
          dpopNonces: o.dpopNonces === undefined ? undefined : o.dpopNonces === "on",
          passwordMinLength: o.passwordMinLength,
        });
        io.out(`Updated workspace ${ref}`);
      },
    );
  ws.command("branding")
    .description("Show or change how the sign-in pages look for a workspace (an empty value removes a setting)")
    .argument("<tenant/workspace>")
    .option("--name <name>", "display name (default: the workspace's name)")
    .option("--logo-url <url>", "https URL of the logo (http in development)")
    .option("--logo-file <path>", "a PNG, JPEG or WebP logo of at most 64 KiB, stored in the database (SVG is refused)")
    .option("--accent <#rrggbb>", "button colour; white text on it must reach a contrast of 4.5:1")
    .option("--help-url <url>", "the help link in the footer")
    .option("--terms-url <url>", "the terms of service link in the footer")
    .option("--privacy-url <url>", "the privacy policy link in the footer")
    .option("--json", JSON_HELP, false)
    .action(
      async (
        ref: string,
        o: { name?: string; logoUrl?: string; logoFile?: string; accent?: string; helpUrl?: string; termsUrl?: string; privacyUrl?: string; json: boolean },
      ) => {
        const { json, logoFile, ...changes } = o;
        if (logoFile !== undefined || Object.values(changes).some((v) => v !== undefined)) {
          let logoImage: Uint8Array | undefined;
          if (logoFile !== undefined) {
            try {
              logoImage = fs.readFileSync(logoFile);
            } catch {
              throw new AdminError(`Cannot read the logo file ${JSON.stringify(logoFile)}`);
            }
          }
          await setBranding(ref, { ...changes, logoImage });
          io.out(`Updated the branding of workspace ${ref}`);
          return;
        }
        const b = await showBranding(ref);
        print(io, [{ name: b.name, logo: b.logo, accent: b.accent, help_url: b.helpUrl, terms_url: b.termsUrl, privacy_url: b.privacyUrl }], json);
      },
    );
  ws.command("delete")
    .description("Delete a workspace with its users and clients; their sessions end and refresh tokens are revoked; its issuer stops answering")
    .argument("<tenant/workspace>")
    .option("--yes", "do not ask for confirmation", false)
    .action(async (ref: string, o: { yes: boolean }) => {
      const d = await deleteWorkspace(ref, (impact) =>
        confirmed(io, o.yes, `Delete workspace ${ref} with all its users and clients? ${endsWhat(impact)} Its issuer stops answering.`),
      );
      io.out(
        `Deleted workspace ${ref} with its ${d.users} user(s) and ${d.clients} client(s); its issuer stops answering within ${d.takesEffectWithinSeconds} s on every instance.\n${deletionSummary(d)}`,
      );
    });

  // ---- users
  const user = program.command("user").description("Users of a workspace's identity pool");
  user
    .command("list")
    .argument("<tenant/workspace>")
    .description("List users")
    .option("--json", JSON_HELP, false)
    .action(async (ref: string, o: { json: boolean }) => {
      print(
        io,
        (await listUsers(ref)).map((u) => ({ username: u.username, id: u.id, email: u.email, name: u.name, disabled: u.disabled })),
        o.json,
      );
    });
  user
    .command("add")
    .description("Add a user; the password is read from a prompt, or from standard input when piped")
    .argument("<tenant/workspace>")
    .argument("<username>")
    .option("--email <email>")
    .option("--name <name>")
    .option("--email-verified", "mark the email as verified", false)
    .action(async (ref: string, username: string, o: { email?: string; name?: string; emailVerified: boolean }) => {
      await addUser({ workspace: ref, username, password: newPassword(io), email: o.email, name: o.name, emailVerified: o.emailVerified });
      io.out(`Added user ${username} to ${ref}`);
    });
  for (const [name, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    user
      .command(name)
      .description(`${name === "disable" ? "Disable" : "Enable"} a user (a disabled user cannot sign in or refresh)`)
      .argument("<tenant/workspace>")
      .argument("<username>")
      .action(async (ref: string, username: string) => {
        await setUserDisabled(ref, username, disabled);
        io.out(`${disabled ? "Disabled" : "Enabled"} user ${username}`);
      });
  }
  user
    .command("set")
    .description("Change a user's username, name or email (an empty value removes a name or email; a new email is unverified unless --email-verified yes)")
    .argument("<tenant/workspace>")
    .argument("<username>")
    .option("--username <new-username>", "a new username, unique in the workspace (their sessions and tokens go on)")
    .option("--name <name>")
    .option("--email <email>")
    .addOption(new Option("--email-verified <yes|no>", "whether the email is verified").choices(["yes", "no"]))
    .action(async (ref: string, username: string, o: { username?: string; name?: string; email?: string; emailVerified?: "yes" | "no" }) => {
      await setUser(ref, username, {
        username: o.username,
        name: o.name,
        email: o.email,
        emailVerified: o.emailVerified === undefined ? undefined : o.emailVerified === "yes",
      });
      io.out(`Updated user ${o.username ?? username}`);
    });
  user
    .command("delete")
    .description("Delete a user with their second factors; their sessions end and refresh tokens are revoked")
    .argument("<tenant/workspace>")
    .argument("<username>")
    .option("--yes", "do not ask for confirmation", false)
    .action(async (ref: string, username: string, o: { yes: boolean }) => {
      const d = await deleteUser(ref, username, (impact) => confirmed(io, o.yes, `Delete user ${username} of ${ref}? ${endsWhat(impact)}`));
      io.out(`Deleted user ${username} from ${ref}.\n${deletionSummary(d)}`);
    });
  user
    .command("reset-password")
    .description("Set a new password (prompt or standard input), end the user's sessions and revoke their refresh tokens")
    .argument("<tenant/workspace>")
    .argument("<username>")
    .action(async (ref: string, username: string) => {
      await resetPassword(ref, username, newPassword(io));
      io.out(`Reset the password of ${username}; their sessions are ended and refresh tokens revoked`);
    });
  user
    .command("factors")
    .description("List a user's second factors (never their secrets)")
    .argument("<tenant/workspace>")
    .argument("<username>")
    .option("--json", JSON_HELP, false)
    .action(async (ref: string, username: string, o: { json: boolean }) => {
      print(
        io,
        (await listFactors(ref, username)).map((f) => ({
          id: f.id,
          type: f.type,
          state: f.state,
          created_at: f.createdAt,
          confirmed_at: f.confirmedAt,
          recovery_codes_left: f.recoveryCodesLeft,
        })),
        o.json,
      );
    });
  user
    .command("reset-mfa")
    .description("Remove a user's second factors and recovery codes (the user enrols again)")
    .argument("<tenant/workspace>")
    .argument("<username>")
    .action(async (ref: string, username: string) => {
      const { removed } = await resetFactors(ref, username);
      io.out(`Removed ${removed} factor(s) of ${username}`);
    });

  // ---- clients
  const client = program.command("client").description("OAuth clients of a workspace");
  client
    .command("list")
    .argument("<tenant/workspace>")
    .description("List clients (--json: every setting of each)")
    .option("--json", JSON_HELP, false)
    .action(async (ref: string, o: { json: boolean }) => {
      print(
        io,
        (await listClients(ref)).map((c) => ({
          client_id: c.clientId,
          name: c.name,
          type: c.type,
          auth: c.authMethods,
          grants: c.grantTypes,
          scopes: c.scopes,
          default_scopes: c.defaultScopes,
          origins: c.allowedOrigins,
          audiences: c.audiences,
          access_ttl: c.accessTokenTtl,
          id_ttl: c.idTokenTtl,
          refresh_ttl: c.refreshTokenTtl,
          forwards_ip: c.forwardsEndUserIp,
          id_token_alg: c.idTokenAlg,
          auth_signing_alg: c.authSigningAlg,
          mfa_policy: c.mfaPolicy ?? "inherit",
          dpop_bound: c.dpopBoundAccessTokens,
          password_reset_uri: c.passwordResetUri,
          jwks: c.jwks,
          jwks_uri: c.jwksUri,
          disabled: c.disabled,
        })),
        o.json,
        ["client_id", "auth", "grants", "scopes", "origins", "forwards_ip", "mfa_policy", "dpop_bound", "disabled"],
      );
    });
  client
    .command("add")
    .description("Add a client; a confidential client's secret is printed once, never stored in clear")
    .argument("<tenant/workspace>")
    .argument("<client-id>")
    .requiredOption("--grants <grants>", `grant types: ${GRANT_TYPES.join(", ")}`, grantsOption)
    .requiredOption("--scopes <scopes>", "scopes it may be granted", scopesOption)
    .option("--auth-methods <methods>", `${AUTH_METHODS.join(", ")}`, authMethodsOption, [...DEFAULT_AUTH_METHODS])
    .option("--name <name>")
    .option("--origins <origins>", "browser origins allowed to call (CORS)", originsOption, [])
    .option("--audiences <audiences>", "extra access-token audiences", list, [])
    .option("--forwards-end-user-ip", "trust it to pass its end users' addresses (ropc-forwarded-for)", false)
    .addOption(new Option("--id-token-alg <alg>", "id_token_signed_response_alg (default ES256)").choices([...SIGNING_ALGS]))
    .option("--jwks <file>", "its public keys (a JWK Set, JSON) for private_key_jwt", jwksFile)
    .option("--jwks-uri <url>", "or where the server fetches them (https)")
    .option("--dpop-bound-access-tokens", "refuse its token requests without a DPoP proof (RFC 9449 dpop_bound_access_tokens)", false)
    .option("--password-reset-uri <url>", "its page where password-reset links lead (a confidential client): offers recovery")
    .addOption(
      new Option("--auth-signing-alg <alg>", "token_endpoint_auth_signing_alg: the one algorithm its client assertions may use").choices([
        ...AUTH_SIGNING_ALGS,
      ]),
    )
    .action(
      async (
        ref: string,
        clientId: string,
        o: {
          grants: string[];
          scopes: string[];
          authMethods: string[];
          name?: string;
          origins: string[];
          audiences: string[];
          forwardsEndUserIp: boolean;
          idTokenAlg?: string;
          jwks?: unknown;
          jwksUri?: string;
          dpopBoundAccessTokens: boolean;
          passwordResetUri?: string;
          authSigningAlg?: string;
        },
      ) => {
        const { secret } = await addClient({ workspace: ref, clientId, ...o });
        io.out(`Added client ${clientId} to ${ref}`);
        if (secret) io.out(`client_secret: ${secret}\n${SHOWN_ONCE}`);
      },
    );
  client
    .command("rotate-secret")
    .description("Give a confidential client a new secret (printed once); the old one stops working")
    .argument("<tenant/workspace>")
    .argument("<client-id>")
    .option("--yes", "do not ask for confirmation (asked for the login app's own client only)", false)
    .action(async (ref: string, clientId: string, o: { yes: boolean }) => {
      const question = `${clientId} is the login app's own client (LOGIN_CLIENT_ID): sign-ins on its pages fail until LOGIN_CLIENT_SECRET holds the new secret and the app is restarted. Give it a new secret?`;
      if (isLoginAppClient(ref, clientId) && !(await confirmed(io, o.yes, question))) throw new AdminError("Nothing was changed");
      const { secret } = await rotateClientSecret(ref, clientId);
      io.out(`client_secret: ${secret}\n${SHOWN_ONCE}`);
    });
  client
    .command("set")
    .description("Change a client's grants, scopes, auth methods, origins, lifetimes or state")
    .argument("<tenant/workspace>")
    .argument("<client-id>")
    .option("--grants <grants>", "grant types", grantsOption)
    .option("--scopes <scopes>", "scopes it may be granted", scopesOption)
    .option("--default-scopes <scopes>", "scopes it gets when it asks for none", scopesOption)
    .option(
      "--auth-methods <methods>",
      "within its type: none (public), or client_secret_basic, client_secret_post, client_secret_jwt, private_key_jwt",
      authMethodsOption,
    )
    .option("--origins <origins>", "browser origins allowed to call (CORS)", originsOption)
    .option("--access-ttl <seconds>", "access token lifetime", lifetime)
    .option("--id-ttl <seconds>", "ID token lifetime", lifetime)
    .option("--refresh-ttl <seconds>", "refresh token lifetime", lifetime)
    .addOption(new Option("--id-token-alg <alg>", "id_token_signed_response_alg").choices([...SIGNING_ALGS]))
    .option("--jwks <file>", "its public keys (a JWK Set, JSON) for private_key_jwt", jwksFile)
    .option("--jwks-uri <url>", "or where the server fetches them (https)")
    .addOption(
      new Option("--auth-signing-alg <alg>", "token_endpoint_auth_signing_alg, or any (whatever its JWT method allows)").choices([...AUTH_SIGNING_ALGS, "any"]),
    )
    .addOption(new Option("--forwards-end-user-ip <yes|no>", "trust it with its end users' addresses").choices(["yes", "no"]))
    .addOption(new Option("--mfa-policy <policy>", "its own MFA policy, or inherit the workspace's").choices([...MFA_POLICIES, "inherit"]))
    .addOption(new Option("--dpop-bound-access-tokens <yes|no>", "refuse its token requests without a DPoP proof").choices(["yes", "no"]))
    .option("--password-reset-uri <url>", 'its page where password-reset links lead; "" removes it')
    .addOption(new Option("--state <state>", "enable or disable the client").choices(["enabled", "disabled"]))
    .action(async (ref: string, clientId: string, o: ClientSetOptions) => {
      const { takesEffectWithinSeconds, needsNewSecret } = await setClient(ref, clientId, {
        grants: o.grants,
        scopes: o.scopes,
        defaultScopes: o.defaultScopes,
        authMethods: o.authMethods,
        origins: o.origins,
        accessTokenTtl: o.accessTtl,
        idTokenTtl: o.idTtl,
        idTokenAlg: o.idTokenAlg,
        jwks: o.jwks,
        jwksUri: o.jwksUri,
        authSigningAlg: o.authSigningAlg === "any" ? null : o.authSigningAlg,
        refreshTokenTtl: o.refreshTtl,
        forwardsEndUserIp: o.forwardsEndUserIp === undefined ? undefined : o.forwardsEndUserIp === "yes",
        mfaPolicy: o.mfaPolicy,
        dpopBoundAccessTokens: o.dpopBoundAccessTokens === undefined ? undefined : o.dpopBoundAccessTokens === "yes",
        passwordResetUri: o.passwordResetUri,
        disabled: o.state === undefined ? undefined : o.state === "disabled",
      });
      io.out(`Updated client ${clientId} (takes effect within ${takesEffectWithinSeconds} s on every instance)`);
      if (needsNewSecret) {
        io.out(
          `Its client_secret_jwt assertions are refused until it has a new secret: only a hash of its current one is kept, and an HMAC needs the secret itself. Run: npm run cli -- client rotate-secret ${ref} ${clientId}`,
        );
      }
    });
  client
    .command("delete")
    .description("Delete a client; the sessions signed in through it end and its refresh tokens are revoked")
    .argument("<tenant/workspace>")
    .argument("<client-id>")
    .option("--yes", "do not ask for confirmation", false)
    .action(async (ref: string, clientId: string, o: { yes: boolean }) => {
      const d = await deleteClient(ref, clientId, (impact) => confirmed(io, o.yes, `Delete client ${clientId} of ${ref}? ${endsWhat(impact)}`));
      io.out(
        `Deleted client ${clientId} from ${ref}; it cannot authenticate any more (within ${d.takesEffectWithinSeconds} s on every instance, and so for the tokens it got for itself with client_credentials).\n${deletionSummary(d)}`,
      );
    });

  // ---- signing keys
  const key = program.command("key").description("Signing keys, one set per algorithm: ES256, RS256, EdDSA (deployment-wide)");
  key
    .command("list")
    .description("List keys and their states (never their private parts)")
    .option("--json", JSON_HELP, false)
    .action(async (o: { json: boolean }) => {
      print(
        io,
        (await listKeys()).map((k) => ({
          kid: k.kid,
          alg: k.alg,
          state: k.state,
          active_from: k.activeFrom,
          superseded_at: k.supersededAt,
          retired_at: k.retiredAt,
        })),
        o.json,
      );
    });
  key
    .command("rotate")
    .description("Create a new key of every algorithm: published now, signing after the delay; the old keys keep verifying until their tokens have expired")
    .option("--delay <seconds>", "how long the new key is published before it signs (default KEY_ROTATION_DELAY_SECONDS)", rotationDelay)
    .action(async (o: { delay?: number }) => {
      const { keys, signsFrom } = await rotateKey(o.delay);
      for (const { kid, alg } of keys) io.out(`New ${alg} key ${kid}: published now, signs from ${signsFrom.toISOString()}`);
    });
  key
    .command("retire")
    .description("Stop publishing a key (refused while it signs or may still verify live tokens)")
    .argument("<kid>")
    .option("--force", "retire it even so: tokens it signed stop verifying", false)
    // A kid is a JWK thumbprint in base64url: it may begin with "-", which is no option here.
    .allowUnknownOption()
    .action(async (kid: string, o: { force: boolean }) => {
      const { replacements } = await retireKey(kid, { force: o.force });
      io.out(`Retired key ${kid}`);
      for (const k of replacements) io.out(`New ${k.alg} key ${k.kid}: signs now, in its place`);
    });

  key
    .command("seal")
    .description(
      "Seal with KEY_ENCRYPTION_KEY every secret the database still keeps in plain form (signing keys, server secrets, TOTP secrets, secrets kept for client_secret_jwt)",
    )
    .action(async () => {
      const n = await sealStoredSecrets();
      io.out(
        `Sealed with KEY_ENCRYPTION_KEY: ${n.signingKeys} signing key(s), ${n.serverSecrets} server secret(s), ${n.totpSecrets} TOTP secret(s), ${n.clientSecrets} client secret(s); the rest was sealed already`,
      );
    });

  // ---- audit
  const auditCmd = program.command("audit").description("The audit trail");
  auditCmd
    .command("tail")
    .description("The latest events, newest last")
    .option("--user <username>", "only this username")
    .addOption(new Option("--outcome <outcome>", "only this outcome").choices(AUDIT_OUTCOMES))
    .option("--event <prefix>", "only events starting with this, e.g. token.password or admin.")
    .option("--limit <n>", "how many", tailLimit, 50)
    .option("--json", "one JSON object per line", false)
    .action(async (o: { user?: string; outcome?: (typeof AUDIT_OUTCOMES)[number]; event?: string; limit: number; json: boolean }) => {
      const rows = await tailAudit({ username: o.user, outcome: o.outcome, eventPrefix: o.event, limit: o.limit });
      if (o.json) return io.out(rows.map((r) => JSON.stringify(r)).join("\n") || "");
      table(
        io,
        rows.map((r) => ({ time: r.createdAt, event: r.event, outcome: r.outcome, client: r.clientId, user: r.username, ip: r.ip, reason: r.reason })),
      );
    });

  // ---- retention
  program
    .command("prune")
    .description(
      "Delete expired refresh tokens, sessions and denylist entries, old failed sign-ins and known addresses, and audit events past AUDIT_RETENTION_DAYS (the server also does it every PRUNE_INTERVAL_SECONDS)",
    )
    .option("--json", JSON_HELP, false)
    .action(async (o: { json: boolean }) => {
      print(
        io,
        Object.entries(await prune()).map(([kind, deleted]) => ({ kind, deleted })),
        o.json,
      );
    });

  // ---- backups
  const database = program.command("database").description("The SQLite database as a whole: backups (PostgreSQL: pg_dump and pg_restore)");
  database
    .command("backup")
    .description("Copy the database to a file while servers keep serving (a consistent snapshot); the copy holds every secret the server keeps")
    .argument("<file>")
    .option("--force", "replace the file if it exists", false)
    .action(async (file: string, o: { force: boolean }) => {
      const done = await backupDatabase(file, { force: o.force });
      io.out(
        `Backed up the database to ${done.file} (${done.bytes} bytes). It holds the signing keys' private parts and the server's secrets: keep it where only operators can read it.`,
      );
      if (done.removed.length > 0)
        io.out(`Removed what backups killed before they finished had left beside it (each a whole copy of the database): ${done.removed.join(", ")}`);
    });
  database
    .command("restore")
    .description("Replace the database with a backup (every server on it stopped first); the file it replaces is kept beside it")
    .argument("<file>")
    .option("--yes", "do not ask for confirmation", false)
    .action(async (file: string, o: { yes: boolean }) => {
      const done = await restoreDatabase(file, (target) =>
        confirmed(io, o.yes, `Replace ${target} with ${file}? Everything written since the backup was taken is lost.`),
      );
      io.out(
        [
          `Restored ${done.target} from ${file}.`,
          done.keptAside ? `The database it replaced is kept at ${done.keptAside}: delete it once the restored one is known good.` : "",
          done.unrecorded !== undefined
            ? `The restore is not in the restored database's audit trail: it could not be written there (${done.unrecorded}). A backup older than this build is brought up to date by the servers when they start.`
            : "",
          "Start the servers now. Whatever was written after the backup is gone: sessions and refresh tokens issued since then no longer work (their users sign in again), and users, clients and keys made since then are to be made again.",
        ]
          .filter(Boolean)
          .join("\n"),
      );
    });

  return program;
}

interface ClientSetOptions {
  grants?: string[];
  scopes?: string[];
  defaultScopes?: string[];
  authMethods?: string[];
  origins?: string[];
  accessTtl?: number;
  idTtl?: number;
  idTokenAlg?: string;
  jwks?: unknown;
  jwksUri?: string;
  authSigningAlg?: string;
  refreshTtl?: number;
  forwardsEndUserIp?: "yes" | "no";
  mfaPolicy?: string;
  dpopBoundAccessTokens?: "yes" | "no";
  passwordResetUri?: string;
  state?: "enabled" | "disabled";
}

const isHelp = (arg: string) => arg === "--help" || arg === "-h" || arg === "help";

/**
 * The settings every command runs with: valid ones, and in production the database named. The
 * default, prisma/data/dev.db, is development's: a production shell without DATABASE_URL (set
 * only in the service's unit, say) would change, or restore, a database no server uses.
 */
function checkSettings(env: Env, argv: readonly string[]): void {
  const { databaseFile } = parseSettings(env);
  if (env.NODE_ENV === "production") assertProductionSettings(env, ["DATABASE_URL"]);
  // What the servers keep of the audit trail is their setting: cut at this shell's default, the
  // rest would be gone for good.
  if (env.NODE_ENV === "production" && argv[0] === "prune" && !env.AUDIT_RETENTION_DAYS && !argv.some(isHelp))
    throw new ConfigError(
      "prune deletes the audit events older than AUDIT_RETENTION_DAYS, which this shell does not set: set it as the servers have it (their default is 90), e.g. AUDIT_RETENTION_DAYS=90 npm run cli -- prune; nothing was deleted.",
    );
  // SQLite would make an empty file there (and its log), then fail on the first missing table.
  // A restore makes the file; help needs none.
  const restores = argv[0] === "database" && argv[1] === "restore";
  const helps = argv.length === 0 || argv.some(isHelp);
  if (databaseFile !== undefined && !fs.existsSync(databaseFile) && !restores && !helps)
    throw new AdminError(`No database at ${databaseFile}: run \`npm run setup\` to make one there, or set DATABASE_URL to the database the servers use`);
}

/**
 * An error of a database that lacks a table or a column of this build (never migrated, or by an
 * older build): Prisma's P2021 and P2022, SQLite's and PostgreSQL's own words in plain SQL.
 */
function isUnmigrated(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code === "P2021" || e?.code === "P2022" || e?.code === "42P01" || e?.code === "42703") return true;
  return typeof e?.message === "string" && /^no such (table|column): |(relation|column) "[^"]+" does not exist/.test(e.message);
}

/** What an operator is told when the database kept the command waiting past DATABASE_TIMEOUT_SECONDS. */
function timeoutMessage(kind: "statement" | "connection", seconds: number): string {
  return kind === "statement"
    ? `Error: The database stopped a statement after DATABASE_TIMEOUT_SECONDS (${seconds} s), spent running or waiting for another's lock, and rolled back its transaction. Try again; for a change this large, give the command more time in its environment, e.g. DATABASE_TIMEOUT_SECONDS=600.`
    : `Error: The database did not answer within DATABASE_TIMEOUT_SECONDS (${seconds} s): check that the server DATABASE_URL names is up, reachable from here, and has a connection to spare.`;
}

/** Runs one command line; returns the exit status (1 for a refusal, which writes nothing). */
export async function runCli(argv: string[], io: CliIo, env: Env = process.env): Promise<number> {
  try {
    checkSettings(env, argv);
    await buildProgram(io).parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    // Settings the command cannot run with: each named with its fix, as `npm start` says them.
    if (err instanceof ConfigError) {
      io.err(`Error: ${err.message}`);
      return 1;
    }
    if (err instanceof Cancelled) {
      io.err("Cancelled: nothing was changed.");
      return 130;
    }
    if (isUnmigrated(err)) {
      io.err(
        "Error: The database has no tables of this app, or lacks some (it was never set up, or this build is newer): run `npm run setup`, which migrates it.",
      );
      return 1;
    }
    if (err instanceof AdminError) {
      io.err(`Error: ${err.message}${err instanceof NothingToChange ? " (see --help)" : ""}`);
      return 1;
    }
    // A secret this shell would write in clear into a sealed database (lib/oauth/store/sealing.ts).
    if (err instanceof SealedValueError) {
      io.err(`Error: ${err.message}; nothing was changed`);
      return 1;
    }
    const timedOut = databaseTimeout(err);
    if (timedOut) {
      io.err(timeoutMessage(timedOut, settings().DATABASE_TIMEOUT_SECONDS));
      return 1;
    }
    const unusable = databaseUnusable(err);
    if (unusable) {
      io.err(
        `Error: Cannot use the database DATABASE_URL names (${unusable}): check DATABASE_URL (host, port, user, password, database) and that its server is running.`,
      );
      return 1;
    }
    throw err;
  }
}
