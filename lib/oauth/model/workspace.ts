import { settings } from "@/lib/platform/env.ts";
import type { MfaPolicy } from "@/lib/oauth/model/mfa.ts";
import type { Branding } from "@/lib/oauth/model/branding.ts";

/** One authorization server: a tenant's workspace, as the endpoints see it. */
export interface Workspace {
  id: string;
  tenant: string;
  slug: string;
  /** `{APP_URL}/{tenant}/{workspace}` */
  issuer: string;
  identityPoolId: string;
  defaultScopes: readonly string[];
  accessTokenTtl: number;
  idTokenTtl: number;
  refreshTokenTtl: number;
  /** Absolute lifetime of a sign-in (seconds); null: SESSION_MAX_SECONDS. */
  sessionTtl: number | null;
  /** Who must pass a second factor (a client may override it). */
  mfaPolicy: MfaPolicy;
  /** RFC 9449 §8: DPoP proofs must carry a nonce the server provided. */
  dpopNonces: boolean;
  /** The shortest password accepted when one is set (lib/platform/password-policy.ts). */
  passwordMinLength: number;
  /** The sign-in pages' branding (an uploaded logo's bytes are not held here). */
  branding: Branding;
}

// Tenant and workspace names as they appear in a path (the issuer's last two segments).
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Whether `name` can be a tenant's or a workspace's name: lowercase letters, digits and dashes. */
export function isSlug(name: string): boolean {
  return SLUG.test(name);
}

export function issuerFor(tenant: string, workspace: string): string {
  return `${settings().APP_URL}/${tenant}/${workspace}`;
}
