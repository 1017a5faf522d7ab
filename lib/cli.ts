// The command line: `sbx-native exec [options] [--] CMD [ARGS...]`.
import os from 'os';
import path from 'path';
import tty from 'tty';
import { supervision } from './plan';
import { prepare, SandboxedProcess, SpawnOptions } from './spawn';
import { SETUP_FAILED, SandboxSetupError } from './errors';
import { PolicyError, SandboxPolicy } from './policy';
import { ConfigError, discoverConfig, loadConfig } from './config';
import type { PreparedSpawn } from './spawn';

/** The --verbose report: what is enforced, and what was left out. */
function describeEnforcement(p: PreparedSpawn): string {
  const lines = [`enforcement: level ${p.plan.level}, mode ${p.policy.mode}, Landlock ABI ${p.plan.landlockAbi}, network ${p.policy.network ? 'allowed' : 'off (private loopback)'}`];
  for (const g of p.plan.layout?.groups ?? []) lines.push(`writable: ${g.roots.join(', ')} (one mount at ${g.ancestor})`);
  for (const a of p.plan.layout?.actions ?? []) {
    if (a.kind === 'readonly') lines.push(`read-only: ${a.path} (${a.why})`);
    else if (a.kind === 'mask') lines.push(`hidden: ${a.path}`);
    else if (a.kind === 'reveal') lines.push(`${a.writable ? 'writable' : 'read-only'} again: ${a.path}`);
  }
  for (const m of p.policy.missingRoots) lines.push(`dropped: writable root ${m} (does not exist)`);
  const sup = supervision(p.plan.layout, p.plan.level !== 'landlock-only');
  for (const m of p.plan.layout?.missingProtected ?? []) {
    lines.push(sup.create ? `protected: ${m} (does not exist; creating it is refused)` : `not enforceable: creating ${m} (protected name that does not exist yet)`);
  }
  for (const d of p.plan.layout?.protectedChain ?? []) {
    lines.push(sup.rename ? `protected: ${d} (leads to a protected path; renaming it, or anything onto it, is refused)` : `not enforceable: renaming ${d} (leads to a protected path)`);
  }
  if (sup.metadata) {
    for (const g of p.plan.layout!.groups) if (g.chain.length) lines.push(`metadata: chmod/chown/utimes/xattrs refused under ${g.ancestor} outside the writable roots (supervised)`);
  }
  return lines.map((l) => `sbx-native: ${l}\n`).join('');
}

const USAGE = `Usage: sbx-native exec [options] [--] COMMAND [ARGS...]
       sbx-native doctor [--json]     what this host can enforce, and fixes

Runs COMMAND with writes confined to the writable roots, the rest of the
filesystem read-only, no network unless --network, and no privileges.

Options:
  -w, --write PATH    writable root (repeatable; default: the current directory)
  -r, --read-only PATH  keep PATH read-only inside a writable root (repeatable)
      --deny-read PATH  PATH looks empty and cannot be written (repeatable)
      --mode MODE     workspace-write (default) | read-only | full
      --tmp MODE      host (default: /tmp and $TMPDIR writable) | private | none
      --protect NAME  keep NAME read-only at the top of every root (repeatable)
      --allow-git-writes  do not protect .git
      --network       allow network access (default: only a private loopback)
      --allow-degraded  run with Landlock only when user namespaces are unusable
                      (says on stderr what is not enforced)
      --config FILE   read a policy from FILE: sbx-native JSON, Codex config.toml,
                      or sandbox-runtime settings JSON (default: the nearest
                      sbx-native.json or .sbx-native.json from the cwd upwards)
      --cwd DIR       working directory of the command (default: the current one)
      --env K=V       set an environment variable (repeatable)
      --clear-env     start from an empty environment (then add --env entries)
      --dry-run       print the resolved policy and plan as JSON, run nothing
  -v, --verbose       say what is enforced and what was left out
  -h, --help          show this help
      --version       print the version

Exit status: the command's; 128+N if it died of signal N; 125 if the sandbox
could not be set up; 126 if COMMAND is not executable; 127 if not found; 2 for
bad usage.

Examples:
  sbx-native exec -- make test                  # write only in the current directory
  sbx-native exec -w . -w ~/.cache/uv -- uv sync  # two roots: links between them work
  sbx-native exec --network -- npm ci
`;

export class UsageError extends Error {}

export interface ExecArgs {
  write: string[];
  readOnly: string[];
  denyRead: string[];
  protect: string[];
  mode?: string;
  tmp?: string;
  allowGitWrites: boolean;
  allowDegraded: boolean;
  network: boolean;
  cwd?: string;
  config?: string;
  verbose: boolean;
  env: string[];
  clearEnv: boolean;
  dryRun: boolean;
  command: string[];
}

const WITH_VALUE: Record<string, keyof ExecArgs> = {
  '-w': 'write', '--write': 'write', '-r': 'readOnly', '--read-only': 'readOnly', '--deny-read': 'denyRead',
  '--protect': 'protect', '--mode': 'mode', '--tmp': 'tmp', '--cwd': 'cwd', '--env': 'env', '--config': 'config',
};
const SINGLE = new Set(['cwd', 'mode', 'tmp', 'config']);

/** Parses exec's options; everything after `--` or the first non-option word is the command. */
export function parseExecArgs(argv: string[]): ExecArgs {
  const out: ExecArgs = {
    write: [], readOnly: [], denyRead: [], protect: [], allowGitWrites: false, allowDegraded: false,
    network: false, env: [], clearEnv: false, dryRun: false, verbose: false, command: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { out.command = argv.slice(i + 1); break; }
    if (!arg.startsWith('-') || arg === '-') { out.command = argv.slice(i); break; }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (name in WITH_VALUE) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`option ${name} needs a value`);
      if (value === '') throw new UsageError(`option ${name} needs a non-empty value`);
      const key = WITH_VALUE[name];
      if (SINGLE.has(key)) (out as unknown as Record<string, string>)[key] = value;
      else (out[key] as string[]).push(value);
      continue;
    }
    if (eq > 0) throw new UsageError(`option ${name} takes no value`);
    if (name === '--network') out.network = true;
    else if (name === '--clear-env') out.clearEnv = true;
    else if (name === '--allow-git-writes') out.allowGitWrites = true;
    else if (name === '--allow-degraded') out.allowDegraded = true;
    else if (name === '--dry-run') out.dryRun = true;
    else if (name === '-v' || name === '--verbose') out.verbose = true;
    else throw new UsageError(`unknown option ${JSON.stringify(arg)} (use -- before a command that starts with '-')`);
  }
  if (out.command.length === 0) throw new UsageError('no command given');
  for (const e of out.env) if (!/^[^=]+=/.test(e)) throw new UsageError(`--env expects K=V, got ${JSON.stringify(e)}`);
  return out;
}

function toSpawnOptions(a: ExecArgs, base: SandboxPolicy): SpawnOptions {
  const cwd = path.resolve(a.cwd ?? process.cwd());
  const env: NodeJS.ProcessEnv = a.clearEnv ? {} : { ...process.env };
  for (const e of a.env) {
    const i = e.indexOf('=');
    env[e.slice(0, i)] = e.slice(i + 1);
  }
  // Flags add to the config's lists and override its single values.
  const abs = (list: string[]) => list.map((p) => path.resolve(p));
  const sandbox: SandboxPolicy = { ...base };
  const more = (key: 'writableRoots' | 'readOnly' | 'denyRead', list: string[]) => {
    if (list.length) sandbox[key] = [...(base[key] ?? []), ...abs(list)];
  };
  more('writableRoots', a.write);
  more('readOnly', a.readOnly);
  more('denyRead', a.denyRead);
  if (a.protect.length) sandbox.protect = [...(base.protect ?? []), ...a.protect];
  if (a.network) sandbox.network = true;
  if (a.allowGitWrites) sandbox.allowGitWrites = true;
  if (a.mode) sandbox.mode = a.mode as SandboxPolicy['mode'];
  if (a.tmp) sandbox.tmp = a.tmp as SandboxPolicy['tmp'];
  // On a terminal the command gets job control and Ctrl-C directly (the CLI stays in the background).
  // tty.isatty, not process.stdin.isTTY: creating the stdin stream would make a piped stdin non-blocking.
  return { cwd, env, stdio: 'inherit', sandbox, allowDegraded: a.allowDegraded, interactive: tty.isatty(0) };
}

function usageExit(message: string): never {
  process.stderr.write(`sbx-native: ${message}\n`);
  process.exit(2);
}

/** The config named by --config, or the nearest discovered one; its warnings go to stderr. */
function configPolicy(a: ExecArgs): SandboxPolicy {
  const cwd = path.resolve(a.cwd ?? process.cwd());
  const file = a.config ?? discoverConfig(cwd);
  if (!file) return {};
  try {
    const loaded = loadConfig(file, cwd);
    for (const w of loaded.warnings) process.stderr.write(`sbx-native: warning: ${w}\n`);
    return loaded.policy;
  } catch (e) {
    if (e instanceof ConfigError) usageExit(e.message);
    throw e;
  }
}

function fail(message: string, hint?: string): never {
  process.stderr.write(`sbx-native: ${message}\n${hint ? `hint: ${hint}\n` : ''}`);
  process.exit(125);
}

function exec(argv: string[]): void {
  let a: ExecArgs;
  try {
    a = parseExecArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`sbx-native: ${e.message}\nTry 'sbx-native --help'.\n`);
    process.exit(2);
  }
  const opts = toSpawnOptions(a, configPolicy(a));
  let prepared;
  try {
    prepared = prepare(a.command[0], a.command.slice(1), opts);
  } catch (e) {
    if (e instanceof PolicyError) usageExit(e.message);
    if (e instanceof SandboxSetupError) fail(e.message, e.hint);
    throw e;
  }
  for (const m of prepared.policy.missingRoots) process.stderr.write(`sbx-native: warning: writable root ${m} does not exist; skipped\n`);
  if (prepared.enforcement.level !== 'full') {
    process.stderr.write(`sbx-native: degraded enforcement (${prepared.enforcement.level}): ${prepared.enforcement.missing.join('; ')}\n`);
  }
  if (a.verbose) process.stderr.write(describeEnforcement(prepared));
  if (a.dryRun) {
    process.stdout.write(JSON.stringify({ policy: prepared.policy, plan: prepared.plan }, null, 2) + '\n');
    return;
  }
  // The helper has its own process group, so a Ctrl-C reaches it once: through
  // us. Handlers go in before the spawn so no signal falls in between.
  let child: SandboxedProcess | undefined;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, () => child?.kill(sig));
  child = new SandboxedProcess(prepared, { ...opts, ownProcessGroup: true });
  child.on('error', (e: NodeJS.ErrnoException & Partial<SandboxSetupError>) => {
    if (e.code === SETUP_FAILED) fail(`${e.step}: ${e.message.replace(/^[^:]+: /, '')}`, e.hint);
    if (e.code === 'ENOENT') { process.stderr.write(`sbx-native: ${a.command[0]}: command not found\n`); process.exit(127); }
    if (e.code === 'EACCES' || e.code === 'ENOEXEC' || e.code === 'EISDIR') {
      process.stderr.write(`sbx-native: ${a.command[0]}: cannot execute (${e.code})\n`);
      process.exit(126);
    }
    fail(`exec: ${e.message}`);
  });
  child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
    process.exit(code ?? 128 + (os.constants.signals[signal!] ?? 0));
  });
}

export function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(`${require('../package.json').version}\n`);
  } else if (cmd === undefined || cmd === '-h' || cmd === '--help' || (cmd === 'exec' && (rest[0] === '-h' || rest[0] === '--help'))) {
    process.stdout.write(USAGE);
    if (cmd === undefined) process.exitCode = 2;
  } else if (cmd === 'exec') {
    exec(rest);
  } else if (cmd === 'doctor') {
    const bad = rest.filter((r) => r !== '--json');
    if (bad.length) usageExit(`doctor: unknown argument ${JSON.stringify(bad[0])}`);
    process.exitCode = (require('./doctor') as typeof import('./doctor')).doctor(rest.includes('--json'));
  } else {
    process.stderr.write(`sbx-native: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
    process.exit(2);
  }
}
