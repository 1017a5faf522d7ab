export { spawn, run, prepare, landlockAbi, SandboxedProcess } from './spawn';
export type { SpawnOptions, RunResult, StdioOption } from './spawn';
export type { SandboxPolicy, ResolvedPolicy } from './policy';
export { PolicyError } from './policy';
export { SandboxSetupError, SETUP_FAILED } from './errors';
export { renameNoReplace, renameNoReplaceSync } from './rename';
