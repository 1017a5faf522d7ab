export { spawn, prepare, landlockAbi, SandboxedProcess } from './spawn';
export type { SpawnOptions, StdioOption } from './spawn';
export { run, execFile } from './exec';
export type { RunResult, RunOptions, ExecFileOptions, ExecFileCallback, ExecFileError } from './exec';
export type { ChildProcessOptions } from './options';
export type { SandboxPolicy, ResolvedPolicy } from './policy';
export { PolicyError } from './policy';
export { SandboxSetupError, SETUP_FAILED } from './errors';
export { renameNoReplace, renameNoReplaceSync } from './rename';
