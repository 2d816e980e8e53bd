// A race at a refresh's rotation, for the suites that make one (the refresh grant's, DPoP's):
// `race.beforeRotation`, when set, runs once just before the next rotation begins, with the
// rotation's own arguments (the token's hash, the grant it writes). A suite makes `race` with
// vi.hoisted and passes it, with the original module, to raceBeforeRotation in its vi.mock of
// refresh-tokens.ts (see lib/oauth/grants/refresh-token.test.ts).
import type * as RefreshTokens from "@/lib/oauth/store/refresh-tokens.ts";

type Rotate = typeof RefreshTokens.rotateRefreshToken;
export type BeforeRotation = (...args: Parameters<Rotate>) => Promise<unknown>;

export function raceBeforeRotation(actual: typeof RefreshTokens, race: { beforeRotation: BeforeRotation | undefined }): typeof RefreshTokens {
  return {
    ...actual,
    rotateRefreshToken: async (...args: Parameters<Rotate>) => {
      const meanwhile = race.beforeRotation;
      race.beforeRotation = undefined;
      await meanwhile?.(...args);
      return actual.rotateRefreshToken(...args);
    },
  };
}
