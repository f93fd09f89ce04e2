// Types for electron-binary.mjs, for the TypeScript test suites that import it.
export declare const root: string;
export declare function electronBinary(): string | null;
export declare function electronInstaller(): string | null;
export declare function displayProblem(): string | null;
export declare function desktopSuiteSkipReason(): string | null;
