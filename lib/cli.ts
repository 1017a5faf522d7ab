// The command line: `sbx-native exec [options] [--] CMD [ARGS...]`.
import fs from 'fs';
import os from 'os';
import path from 'path';
import { supervision } from './plan';
import { ExecArgs, parseExecArgs, UsageError } from './cli-args';

export { parseExecArgs, UsageError } from './cli-args';
export type { ExecArgs } from './cli-args';
import { prepare, SandboxedProcess, SpawnOptions, spawnPrepared } from './spawn';
import { EarlyHead, startEarlyHead } from './head-start';
import { SETUP_FAILED, SandboxSetupError } from './errors';
import { EXTRA_GUARDS, Guard, PolicyError, SandboxPolicy } from './policy';
import { ConfigError, discoverConfigs, loadConfig, LoadedConfig } from './config';
import { loadDiscoveredConfig, mergeNarrowing, refuseReexposure } from './config-trust';
import { reprobeAfterFailure } from './host';
import type { PreparedSpawn } from './spawn';

/** The --verbose report: what is enforced, and what was left out. */
function describeEnforcement(p: PreparedSpawn): string {
  const lines = [
    `enforcement: level ${p.plan.level}, mode ${p.policy.mode}, Landlock ABI ${p.plan.landlockAbi}, network ${p.policy.network ? 'allowed' : p.policy.domains ? `through the proxy only (allowed: ${p.policy.domains.allowed?.join(', ') ?? 'all not denied'}; denied: ${p.policy.domains.denied.join(', ') || 'none'})` : 'off (private loopback)'}`,
  ];
  for (const g of p.plan.layout?.groups ?? []) lines.push(`writable: ${g.roots.join(', ')} (one mount at ${g.ancestor})`);
  for (const a of p.plan.layout?.actions ?? []) {
    if (a.kind === 'readonly') lines.push(`read-only: ${a.path} (${a.why})`);
    else if (a.kind === 'mask') lines.push(`hidden: ${a.path}`);
    else if (a.kind === 'reveal') lines.push(`${a.writable ? 'writable' : 'read-only'} again: ${a.path}`);
  }
  for (const m of p.policy.missingRoots) lines.push(`dropped: writable root ${m} (does not exist)`);
  const sup = supervision(p.plan.layout, p.plan.level !== 'landlock-only');
  if (sup.sockets) {
    const allowed = p.policy.allowUnixSockets;
    lines.push(
      `unix sockets: only those the sandbox binds${allowed.length ? ` and ${allowed.join(', ')}` : ''} (connect and datagrams supervised)`,
    );
  }
  // One line per directory, not one per missing name.
  const missing = new Map<string, string[]>();
  for (const m of p.plan.layout?.missingProtected ?? []) {
    const dir = path.dirname(m);
    missing.set(dir, [...(missing.get(dir) ?? []), path.basename(m)]);
  }
  for (const [dir, names] of missing) {
    lines.push(
      sup.create
        ? `protected in ${dir} (missing; creating them is refused): ${names.join(' ')}`
        : `not enforceable in ${dir}: creating ${names.join(' ')} (protected names that do not exist yet)`,
    );
  }
  const newNames = p.plan.layout?.newNames ?? [];
  if (newNames.length) {
    lines.push(
      sup.create
        ? `no new git repository: making ${newNames.join(' or ')} where there is none is refused in the writable roots (--allow-git-writes lifts it)`
        : `not enforceable: making a new git repository (${newNames.join(', ')}) in the writable roots`,
    );
    if (sup.writes)
      lines.push(
        'git config and hooks: in every directory that holds a HEAD, writing config, config.worktree, commondir, gitdir or hooks/, or an existing .git file, is refused (opens for writing supervised)',
      );
  }
  const groups = p.plan.layout?.groups ?? [];
  if (groups.length > 1) {
    lines.push(
      `separate mounts: hard links and renames between ${groups.map((g) => g.roots.join(' + ')).join(' and ')} fail with EXDEV` +
        (groups.some((g) => g.roots.includes('/tmp')) ? ' (/tmp always has its own mount; -w /tmp makes it share one)' : ''),
    );
  }
  for (const f of p.plan.fallbacks) lines.push(`older kernel: ${f}`);
  const scan = p.plan.layout?.repositoryScan;
  if (scan) {
    lines.push(`repositories below the roots' tops: ${scan.found} found and protected (walk budget ${scan.budget} entries)`);
    for (const n of scan.notScanned)
      lines.push(
        `not scanned for repositories: ${n.root} (${n.why}; a nested repository there is not protected; --repository-scan-budget N raises the budget, --require-repository-scan refuses)`,
      );
  }
  for (const d of p.plan.layout?.protectedChain ?? []) {
    lines.push(
      sup.rename
        ? `protected: ${d} (leads to a protected path; renaming it, or anything onto it, is refused)`
        : `not enforceable: renaming ${d} (leads to a protected path)`,
    );
  }
  if (sup.metadata) {
    for (const g of p.plan.layout!.groups)
      if (g.chain.length)
        lines.push(`metadata: chmod/chown/utimes/xattrs refused under ${g.ancestor} outside the writable roots (supervised)`);
  }
  return lines.map((l) => `sbx-native: ${l}\n`).join('');
}

const USAGE = `Usage: sbx-native exec [options] [--] COMMAND [ARGS...]
       sbx-native doctor [--json]     what this host can enforce, and fixes
       sbx-native bwrap [OPTIONS] [--] COMMAND   bubblewrap's command line (docs/bwrap.md);
                      sbx-native bwrap --install DIR writes DIR/bwrap
       sbx-native help [COMMAND] | version

Runs COMMAND with writes confined to the writable roots, the rest of the
filesystem read-only, no network unless --network, and no privileges.

Options:
  -w, --write PATH    writable root (repeatable; default: the current directory)
  -r, --read-only PATH  keep PATH read-only inside a writable root (repeatable)
      --deny-read PATH  PATH looks empty and cannot be written (repeatable)
      --mode MODE     workspace-write (default) | read-only | full
      --tmp MODE      host (default: /tmp and $TMPDIR writable) | private | none
      --protect NAME  keep NAME read-only at the top of every root (repeatable)
      --allow-git-writes  do not protect .git (its config and hooks; new repositories)
      --network       allow network access (default: only a private loopback)
      --allow-domain D  reach D through the sandbox's proxy only (repeatable):
                      example.com, *.example.com (subdomains), an IP, any :port
      --deny-domain D   refuse D even if allowed (repeatable; alone: all else
                      is allowed through the proxy)
      --allow-unix-socket PATH  let the command connect to the unix socket PATH
                      (or any below the directory PATH; repeatable). Without
                      it only sockets the sandbox itself bound are reachable
      --allow-degraded  run with Landlock only when user namespaces are unusable
                      (says on stderr what is not enforced)
      --repository-scan-budget N  entries the walk of the writable roots for
                      nested repositories reads at most (default 50000)
      --require-repository-scan  refuse to run when that walk does not cover
                      every writable root (-v names a root it did not)
      --config FILE   read a policy from FILE: sbx-native JSON, Codex config.toml,
                      or sandbox-runtime settings JSON. Without it, every
                      sbx-native.json and .sbx-native.json from the cwd upwards
                      applies, and such a file may only narrow the policy
      --no-config     do not look for sbx-native.json / .sbx-native.json
      --cwd DIR       working directory of the command (default: the current one)
      --env K=V       set an environment variable (repeatable)
      --clear-env     start from an empty environment (then add --env entries)
      --dry-run       print the resolved policy and plan as JSON, run nothing
                      (environment variable names only, not their values)
      --dry-run-env-values  with --dry-run, print the values too
  -v, --verbose       say what is enforced and what was left out
  -h, --help          show this help

Exit status: the command's; 128+N if it died of signal N; 125 if the sandbox
could not be set up; 126 if COMMAND is not executable; 127 if not found; 2 for
bad usage.

Examples:
  sbx-native exec -- make test                  # write only in the current directory
  sbx-native exec -w . -w ~/.cache/uv -- uv sync  # two roots: links between them work
  sbx-native exec --network -- npm ci
`;

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
  if (a.allowUnixSocket.length) sandbox.allowUnixSockets = [...(base.allowUnixSockets ?? []), ...abs(a.allowUnixSocket)];
  if (a.network) sandbox.network = true;
  if (a.allowDomain.length || a.denyDomain.length) sandbox.network = domainFlags(base.network, a.allowDomain, a.denyDomain);
  if (a.allowGitWrites) sandbox.allowGitWrites = true;
  if (a.repositoryScanBudget !== undefined) sandbox.repositoryScanBudget = a.repositoryScanBudget;
  if (a.requireRepositoryScan) sandbox.requireRepositoryScan = true;
  if (a.mode) sandbox.mode = a.mode as SandboxPolicy['mode'];
  if (a.tmp) sandbox.tmp = a.tmp as SandboxPolicy['tmp'];
  // On a terminal the command gets job control and Ctrl-C directly (the CLI stays in the background).
  const terminal = stdinIsTerminal();
  return { cwd, env, stdio: 'inherit', sandbox, allowDegraded: a.allowDegraded, interactive: terminal, jobControl: terminal };
}

/**
 * isatty(0). tty.isatty, not process.stdin.isTTY: creating the stdin stream
 * would make a piped stdin non-blocking. And `tty` (which loads net and
 * stream, a few ms of a start) only when fd 0 is a character device other
 * than the memory devices (/dev/null and the like, major 1), which no
 * terminal is: a pipe, a file or /dev/null is answered by one fstat.
 */
function stdinIsTerminal(): boolean {
  let st: fs.BigIntStats;
  try {
    st = fs.fstatSync(0, { bigint: true });
  } catch {
    return false;
  }
  const major = ((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & ~0xfffn);
  if (!st.isCharacterDevice() || major === 1n) return false;
  return (require('tty') as typeof import('tty')).isatty(0);
}

/** --allow-domain / --deny-domain on top of a config's network setting: lists add up. */
function domainFlags(base: SandboxPolicy['network'], allow: string[], deny: string[]): SandboxPolicy['network'] {
  const from = typeof base === 'object' ? base : {};
  const out: { allowedDomains?: string[]; deniedDomains?: string[] } = {};
  if (from.allowedDomains || allow.length) out.allowedDomains = [...(from.allowedDomains ?? []), ...allow];
  out.deniedDomains = [...(from.deniedDomains ?? []), ...deny];
  return out;
}

function usageExit(message: string): never {
  process.stderr.write(`sbx-native: ${message}\n`);
  process.exit(2);
}

interface Configs {
  policy: SandboxPolicy;
  /** The explicit --config file, if any. */
  explicit?: LoadedConfig;
  /** The discovered files that apply (each may only narrow). */
  discovered: LoadedConfig[];
}

/**
 * The config named by --config (trusted: it may say anything), or else every
 * discovered one from the cwd upwards (each may only narrow the policy; a
 * widening key is refused, exit 2). Warnings go to stderr.
 */
function configPolicy(a: ExecArgs): Configs {
  const cwd = path.resolve(a.cwd ?? process.cwd());
  try {
    if (a.config) {
      const loaded = loadConfig(a.config, cwd);
      for (const w of loaded.warnings) process.stderr.write(`sbx-native: warning: ${w}\n`);
      return { policy: loaded.policy, explicit: loaded, discovered: [] };
    }
    if (a.noConfig) return { policy: {}, discovered: [] };
    const discovered = discoverConfigs(cwd).map((f) => loadDiscoveredConfig(f, cwd, a.mode));
    return { policy: mergeNarrowing(discovered.map((c) => c.policy)), discovered };
  } catch (e) {
    if (e instanceof ConfigError) usageExit(e.message);
    throw e;
  }
}

/** --dry-run's copy of the plan: `env` steps carry the variable's name only, unless asked for the values. */
function dryRunPlan(plan: PreparedSpawn['plan'], values: boolean): PreparedSpawn['plan'] {
  if (values) return plan;
  return {
    ...plan,
    steps: plan.steps.map((s) => (s.op === 'env' ? { op: 'env', args: [s.args[0].slice(0, s.args[0].indexOf('='))] } : s)),
  };
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
  if (a.help) return void process.stdout.write(USAGE);
  if (a.cwd !== undefined && !fs.statSync(a.cwd, { throwIfNoEntry: false })?.isDirectory()) usageExit(`--cwd ${a.cwd}: not a directory`);
  const configs = configPolicy(a);
  const opts = toSpawnOptions(a, configs.policy);
  try {
    refuseReexposure(configs.discovered, opts.sandbox!, opts.env);
  } catch (e) {
    if (e instanceof ConfigError) usageExit(e.message);
    throw e;
  }
  // Every config file in use stays read-only inside the sandbox it configures.
  const used = [...(configs.explicit ? [configs.explicit] : []), ...configs.discovered];
  (opts.sandbox as { [EXTRA_GUARDS]?: Guard[] })[EXTRA_GUARDS] = used.map((c) => ({ path: c.file, why: 'config file in use' }));
  if (a.verbose) {
    for (const c of used)
      process.stderr.write(
        `sbx-native: config: ${c.file} (${c === configs.explicit ? `--config, ${c.format}` : 'discovered: may only narrow'})\n`,
      );
    if (!used.length) process.stderr.write(`sbx-native: config: none${a.noConfig ? ' (--no-config)' : ''}\n`);
  }
  const plan = () => {
    try {
      return prepare(a.command[0], a.command.slice(1), opts);
    } catch (e) {
      if (e instanceof PolicyError) {
        const found = configs.discovered.map((c) => c.file);
        usageExit(
          found.length
            ? `${e.message}\n(the policy includes the discovered config files ${found.join(', ')}; --no-config ignores them)`
            : e.message,
        );
      }
      if (e instanceof SandboxSetupError) fail(e.message, e.hint);
      throw e;
    }
  };
  // The helper's start (its exec, namespaces, id maps, init) runs while the
  // plan is made; it holds nothing of the policy (lib/head-start.ts). Not
  // for a dry run (nothing runs), a terminal (its steps come first) or
  // domain lists (the proxy's fork comes first).
  const early: EarlyHead | undefined =
    a.dryRun || opts.interactive || typeof opts.sandbox?.network === 'object'
      ? undefined
      : startEarlyHead(opts.sandbox?.network === true, true);
  const prepared = plan();
  for (const m of prepared.policy.missingRoots) process.stderr.write(`sbx-native: warning: writable root ${m} does not exist; skipped\n`);
  if (prepared.enforcement.level !== 'full') {
    process.stderr.write(`sbx-native: degraded enforcement (${prepared.enforcement.level}): ${prepared.enforcement.missing.join('; ')}\n`);
  }
  if (a.verbose) process.stderr.write(describeEnforcement(prepared));
  if (a.dryRun) {
    process.stdout.write(JSON.stringify({ policy: prepared.policy, plan: dryRunPlan(prepared.plan, a.dryRunEnvValues) }, null, 2) + '\n');
    return;
  }
  // The helper has its own process group, so a Ctrl-C reaches it once: through
  // us. Handlers go in before the spawn so no signal falls in between.
  let child: SandboxedProcess | undefined;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(sig, () => child?.kill(sig));
  start(prepared, false);

  function start(p: PreparedSpawn, retried: boolean): void {
    child = spawnPrepared(p, { ...opts, ownProcessGroup: true }, retried ? undefined : early);
    child.on('error', (e: NodeJS.ErrnoException & Partial<SandboxSetupError>) => onError(e, p, retried));
    child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
      // What the sandbox refused, so the user (or a model reading stderr) knows why.
      for (const v of child!.violations)
        process.stderr.write(`sbx-native: blocked: ${v.op} ${v.path}${v.count > 1 ? ` (${v.count} times)` : ''}: ${v.errno}, ${v.rule}\n`);
      if (child!.violationsDropped) process.stderr.write(`sbx-native: blocked: ${child!.violationsDropped} more refusals not listed\n`);
      process.exit(code ?? 128 + (os.constants.signals[signal!] ?? 0));
    });
  }

  function onError(e: NodeJS.ErrnoException & Partial<SandboxSetupError>, p: PreparedSpawn, retried: boolean): void {
    // User namespaces were taken to work (a cached answer, say) and the set-up
    // failed: with --allow-degraded, probe again and degrade as promised.
    if (e.code === SETUP_FAILED && a.allowDegraded && !retried && p.plan.level !== 'landlock-only' && reprobeAfterFailure()) {
      const again = plan();
      if (again.enforcement.level !== p.plan.level) {
        process.stderr.write(
          `sbx-native: ${e.step} failed (${e.message.replace(/^[^:]+: /, '')}); probed again: user namespaces are unusable\n`,
        );
        process.stderr.write(`sbx-native: degraded enforcement (${again.enforcement.level}): ${again.enforcement.missing.join('; ')}\n`);
        if (a.verbose) process.stderr.write(describeEnforcement(again));
        start(again, true);
        return;
      }
    }
    if (e.code === SETUP_FAILED) fail(`${e.step}: ${e.message.replace(/^[^:]+: /, '')}`, e.hint);
    if (e.code === 'ENOENT') {
      process.stderr.write(`sbx-native: ${a.command[0]}: command not found\n`);
      process.exit(127);
    }
    if (e.code === 'EACCES' || e.code === 'ENOEXEC' || e.code === 'EISDIR') {
      process.stderr.write(`sbx-native: ${a.command[0]}: cannot execute (${e.code})\n`);
      process.exit(126);
    }
    fail(`exec: ${e.message}`);
  }
}

const DOCTOR_USAGE = `Usage: sbx-native doctor [--json]

Says what this host can enforce (Landlock ABI, user namespaces, seccomp) and
how to fix what it cannot. Exit status 0 when full enforcement is possible.
`;

export function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  const help = (text: string) => process.stdout.write(text);
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    if (cmd === 'version' && rest.length) usageExit(`version: unexpected argument ${JSON.stringify(rest[0])}`);
    process.stdout.write(`${require('../package.json').version}\n`);
  } else if (cmd === undefined) {
    process.stderr.write(USAGE);
    process.exitCode = 2;
  } else if (cmd === '-h' || cmd === '--help') {
    help(USAGE);
  } else if (cmd === 'help') {
    const [topic, ...more] = rest;
    if (more.length || (topic !== undefined && !['exec', 'doctor', 'help', 'version'].includes(topic)))
      usageExit(`help: no such command ${JSON.stringify(topic)}`);
    help(topic === 'doctor' ? DOCTOR_USAGE : USAGE);
  } else if (cmd === 'exec') {
    exec(rest);
  } else if (cmd === 'bwrap') {
    (require('./bwrap/run') as typeof import('./bwrap/run')).bwrapMain(rest);
  } else if (cmd === 'doctor') {
    if (rest.some((r) => r === '-h' || r === '--help')) return void help(DOCTOR_USAGE);
    const bad = rest.filter((r) => r !== '--json');
    if (bad.length) usageExit(`doctor: unknown argument ${JSON.stringify(bad[0])}`);
    process.exitCode = (require('./doctor') as typeof import('./doctor')).doctor(rest.includes('--json'));
  } else {
    process.stderr.write(`sbx-native: unknown command ${JSON.stringify(cmd)}\n${USAGE}`);
    process.exit(2);
  }
}
