// The options spawn() takes: child_process's (lib/options.ts) and the sandbox's own.
import type { ChildProcessOptions } from './options';
import type { SandboxPolicy } from './policy';

export type StdioOption = 'pipe' | 'overlapped' | 'ipc' | 'inherit' | 'ignore' | number | null | undefined | { fd: number };

export interface SpawnOptions extends ChildProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdio?: 'pipe' | 'inherit' | 'ignore' | StdioOption[];
  argv0?: string;
  sandbox?: SandboxPolicy;
  /** Run with less than full enforcement when the host cannot do better (Landlock-only: no user namespaces). Never silent: see `enforcement`. */
  allowDegraded?: boolean;
  /**
   * The command takes the terminal on stdin as its controlling terminal and
   * foreground process group, so shells get job control and Ctrl-C goes to
   * it directly; the terminal is handed back when it ends. Needs stdin to be
   * this process's controlling terminal (stdio 'inherit' from a terminal).
   */
  interactive?: boolean;
  /**
   * With `interactive`: when the command is stopped (Ctrl-Z), this process
   * stops too, like a shell job, and its SIGCONT (fg) resumes the command
   * with the terminal. Without it a stopped command is resumed at once. The
   * CLI turns it on with interactive. Every stop is also a 'stop' event.
   */
  jobControl?: boolean;
  /** Put the helper in its own process group, so terminal signals reach the command only when forwarded (the CLI does this). */
  ownProcessGroup?: boolean;
  /**
   * false: never run this command in a sandbox of the warm pool (lib/pool.ts,
   * `configurePool`). The default lets the pool serve it when one is ready.
   */
  pool?: boolean;
}
