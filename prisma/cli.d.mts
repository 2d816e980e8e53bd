export function nativeSchemaEngineExists(): boolean;
export function prismaEnv(env?: Record<string, string | undefined>): Record<string, string | undefined>;
export function runPrisma(args: string[], options?: { env?: Record<string, string | undefined>; stdio?: "inherit" | "pipe" | "ignore" }): number;
