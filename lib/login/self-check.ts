import { randomBytes } from "node:crypto";
import * as oauth from "oauth4webapi";
import { loginConfig, type LoginConfig } from "@/lib/login/config.ts";
import { requestOptions } from "@/lib/login/token-client.ts";
import { logger } from "@/lib/platform/logger.ts";
import { settings } from "@/lib/platform/env.ts";

/**
 * The login app's self-check: does its issuer answer discovery, and does its client
 * authenticate there? Run when the server starts and again on the first sign-in that fails as
 * "refused" or "unreachable", so that a wrong setting is an error in the log that names it, not a
 * page that says "Sign-in is not available right now". Over HTTP only, like the rest of the
 * login app: it works against any ROPC server.
 *
 * The client probe is a refresh-token grant with a random token nobody was issued. A client that
 * authenticates gets `invalid_grant` (RFC 6749 §5.2); one that does not gets `invalid_client`.
 * No password is tried, so no user's lockout counts it; the server writes one audit row for it,
 * whose user agent says what it was.
 */

/** What an operator can change: a setting, or the first-run step. */
export type Culprit = "OAUTH_ISSUER" | "LOGIN_CLIENT_ID" | "LOGIN_CLIENT_SECRET" | "npm run setup";

export type SelfCheckResult =
  | { ok: true; issuer: string }
  | {
      ok: false;
      step: "discovery" | "client";
      /** The settings or step to look at, most likely first. */
      culprits: readonly Culprit[];
      /** A failure that may pass by itself (the issuer did not answer, or answered 5xx). */
      transient: boolean;
      /** What is wrong and how to fix it, in one sentence for the log. */
      message: string;
    };

/** The User-Agent of the self-check's requests, which the server's audit row of the probe records. */
export const SELF_CHECK_USER_AGENT = "ropc-login-kit login self-check";

const TIMEOUT_MS = 5_000;

type Target = Pick<LoginConfig, "issuer" | "clientId" | "clientSecret">;

function failed(step: "discovery" | "client", culprits: readonly Culprit[], message: string, transient = false): SelfCheckResult {
  return { ok: false, step, culprits, transient, message };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}

async function discoveryStep(target: Target): Promise<{ as: oauth.AuthorizationServer } | SelfCheckResult> {
  const issuer = target.issuer.href;
  let response: Response;
  try {
    response = await oauth.discoveryRequest(target.issuer, {
      ...requestOptions(target.issuer),
      algorithm: "oidc",
      headers: { "user-agent": SELF_CHECK_USER_AGENT },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    if (err instanceof oauth.OperationProcessingError && (err.code === oauth.HTTP_REQUEST_FORBIDDEN || err.code === oauth.REQUEST_PROTOCOL_FORBIDDEN)) {
      return failed("discovery", ["OAUTH_ISSUER"], `OAUTH_ISSUER=${issuer} must be an https URL (http only for localhost).`);
    }
    return failed(
      "discovery",
      ["OAUTH_ISSUER"],
      `OAUTH_ISSUER=${issuer} cannot be reached (${describe(err)}): is the authorization server running there, and is OAUTH_ISSUER (or APP_URL, from which it defaults) its address?`,
      true,
    );
  }
  if (response.status === 404) {
    await response.body?.cancel();
    return failed(
      "discovery",
      ["npm run setup", "OAUTH_ISSUER"],
      `OAUTH_ISSUER=${issuer} has no discovery document (404): the workspace does not exist there. Run \`npm run setup\` with this OAUTH_ISSUER to create it, or correct OAUTH_ISSUER.`,
    );
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    return failed(
      "discovery",
      ["OAUTH_ISSUER"],
      `OAUTH_ISSUER=${issuer} answered its discovery request with HTTP ${response.status}: check that the authorization server is ready (its /readyz) and that OAUTH_ISSUER is its issuer.`,
      response.status >= 500,
    );
  }
  try {
    return { as: await oauth.processDiscoveryResponse(target.issuer, response) };
  } catch (err) {
    if (err instanceof oauth.OperationProcessingError && err.code === oauth.JSON_ATTRIBUTE_COMPARISON) {
      const body = (err.cause as { body?: { issuer?: unknown } } | undefined)?.body;
      return failed(
        "discovery",
        ["OAUTH_ISSUER"],
        `OAUTH_ISSUER=${issuer} is not the issuer its discovery document names (${JSON.stringify(body?.issuer)}): OAUTH_ISSUER must be that issuer exactly (the server's APP_URL followed by /tenant/workspace).`,
      );
    }
    return failed(
      "discovery",
      ["OAUTH_ISSUER"],
      `OAUTH_ISSUER=${issuer} answered with no valid discovery document (${describe(err)}): is it an OpenID Connect issuer?`,
    );
  }
}

async function clientStep(target: Target, as: oauth.AuthorizationServer): Promise<SelfCheckResult> {
  const client = `LOGIN_CLIENT_ID=${target.clientId}`;
  let response: Response;
  try {
    response = await oauth.genericTokenEndpointRequest(
      as,
      { client_id: target.clientId },
      oauth.ClientSecretBasic(target.clientSecret),
      "refresh_token",
      // 256 random bits: a token no one was ever issued.
      { refresh_token: randomBytes(32).toString("base64url") },
      { ...requestOptions(target.issuer), headers: { "user-agent": SELF_CHECK_USER_AGENT }, signal: AbortSignal.timeout(TIMEOUT_MS) },
    );
  } catch (err) {
    return failed("client", ["OAUTH_ISSUER"], `the token endpoint of OAUTH_ISSUER=${target.issuer.href} cannot be reached (${describe(err)}).`, true);
  }
  const body = (await response.json().catch(() => ({}))) as { error?: unknown };
  const error = typeof body.error === "string" ? body.error : undefined;
  if (response.status === 400 && error === "invalid_grant") return { ok: true, issuer: as.issuer };
  if (response.status === 401 || error === "invalid_client") {
    // The server answers an unknown client and a wrong secret alike (no client enumeration).
    return failed(
      "client",
      ["LOGIN_CLIENT_SECRET", "LOGIN_CLIENT_ID", "npm run setup"],
      `the issuer refused the login app's client (invalid_client): ${client} does not exist at OAUTH_ISSUER=${target.issuer.href}, or LOGIN_CLIENT_SECRET is not its secret. Run \`npm run setup\` with these settings (it creates the client and stores LOGIN_CLIENT_SECRET as its secret), or set LOGIN_CLIENT_SECRET to the secret the client has.`,
    );
  }
  if (response.status === 429) {
    const retryAfter = response.headers.get("retry-after");
    return failed(
      "client",
      ["LOGIN_CLIENT_SECRET"],
      `${client} is locked out at the issuer from this server's address after failed client secrets${retryAfter ? ` (for ${retryAfter} s more)` : ""}: fix LOGIN_CLIENT_SECRET, then wait for the lockout to end.`,
    );
  }
  if (error === "unauthorized_client") {
    return failed(
      "client",
      ["LOGIN_CLIENT_ID"],
      `${client} is not allowed the refresh_token grant, which the login app needs beside the password grant: allow both (\`npm run cli -- client set <tenant/workspace> ${target.clientId} --grants password,refresh_token\`), or run \`npm run setup\` for a new client.`,
    );
  }
  return failed(
    "client",
    ["OAUTH_ISSUER"],
    `the token endpoint of OAUTH_ISSUER=${target.issuer.href} answered the client check with HTTP ${response.status}${error ? ` ${error}` : ""} instead of invalid_grant.`,
    response.status >= 500,
  );
}

/** One run of the self-check against `target` (the login app's settings by default). */
export async function checkLoginSetup(target: Target = loginConfig()): Promise<SelfCheckResult> {
  const discovered = await discoveryStep(target);
  return "as" in discovered ? clientStep(target, discovered.as) : discovered;
}

interface SelfCheckState {
  last?: SelfCheckResult;
  /** The first refused or unreachable sign-in's check: once per process. */
  afterFailure?: Promise<SelfCheckResult>;
}

// On globalThis: the server's launcher (lib/scripts/serve.ts) runs the check at start, and the
// login page and sign-in, bundled by Next, read and repeat it.
const STATE = Symbol.for("ropc.login.self-check");
function state(): SelfCheckState {
  const g = globalThis as Record<symbol, SelfCheckState | undefined>;
  return (g[STATE] ??= {});
}

function report(result: SelfCheckResult, when: "start" | "sign-in failure"): SelfCheckResult {
  state().last = result;
  if (result.ok) logger.info({ event: "login.self_check", when, issuer: result.issuer }, "login app self-check passed");
  else logger.error({ event: "login.self_check_failed", when, step: result.step, culprits: result.culprits }, `login app self-check failed: ${result.message}`);
  return result;
}

export interface StartOptions {
  /** Transient failures (the issuer not up yet, a load balancer not routing to it yet) are tried again this often. */
  attempts?: number;
  delayMs?: number;
  target?: Target;
}

/**
 * The check at start. The authorization server may be starting beside the login app (or behind
 * a load balancer that does not route to it yet), so a failure that may pass is tried again a few
 * times before it is reported.
 */
export async function selfCheckAtStart({ attempts = 6, delayMs = 5_000, target = loginConfig() }: StartOptions = {}): Promise<SelfCheckResult> {
  let result = await checkLoginSetup(target);
  for (let i = 1; i < attempts && !result.ok && result.transient; i++) {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    result = await checkLoginSetup(target);
  }
  return report(result, "start");
}

/**
 * The check again after the first sign-in refused or unreachable, once per process. When the
 * last check already found the client refused, it is not probed again: each probe with a wrong
 * secret counts as a failed client authentication from this server's address, and the sign-ins
 * themselves are proof enough; the finding is logged again beside the failure.
 */
export function selfCheckAfterFailure(target: Target = loginConfig()): Promise<SelfCheckResult> {
  const s = state();
  s.afterFailure ??= (async () => {
    const previous = s.last;
    if (previous && !previous.ok && previous.step === "client" && !previous.transient) return report(previous, "sign-in failure");
    return report(await checkLoginSetup(target), "sign-in failure");
  })();
  return s.afterFailure;
}

/**
 * What the login page tells an operator about the last failed self-check: in development only.
 * In production the page never says anything about the server's configuration.
 */
export function operatorHint(): string | undefined {
  if (settings().NODE_ENV !== "development") return undefined;
  const last = state().last;
  return last && !last.ok ? `Login app self-check failed: ${last.message}` : undefined;
}

/** Forgets the checks of this process (tests). */
export function resetSelfCheckForTests(): void {
  const g = globalThis as Record<symbol, SelfCheckState | undefined>;
  g[STATE] = {};
}
