export declare const SOURCES_FILE: string;
export declare function buildSources(root: string): Record<string, string>;
export declare function changedSources(recorded: Record<string, string>, now: Record<string, string>): string[];
export declare function nameFiles(files: string[]): string;
