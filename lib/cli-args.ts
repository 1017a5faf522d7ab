// `sbx-native exec`'s options, parsed as Node's util.parseArgs (strict) would: the
// options end at `--` or at the first word that is not an option, which
// starts the command. What parseArgs cannot know is checked here: a value
// that looks like an option, a single-valued option given twice with
// different values, a path given two contradictory roles.
import path from 'path';
import { parseArgs } from 'util';

export class UsageError extends Error {}

export interface ExecArgs {
  write: string[];
  readOnly: string[];
  denyRead: string[];
  protect: string[];
  allowUnixSocket: string[];
  mode?: string;
  tmp?: string;
  allowGitWrites: boolean;
  allowDegraded: boolean;
  /** --repository-scan-budget N: entries the walk for nested repositories reads at most. */
  repositoryScanBudget?: number;
  requireRepositoryScan: boolean;
  network: boolean;
  allowDomain: string[];
  denyDomain: string[];
  cwd?: string;
  config?: string;
  noConfig: boolean;
  verbose: boolean;
  env: string[];
  clearEnv: boolean;
  dryRun: boolean;
  dryRunEnvValues: boolean;
  help: boolean;
  command: string[];
}

const OPTIONS = {
  write: { type: 'string', short: 'w', multiple: true },
  'read-only': { type: 'string', short: 'r', multiple: true },
  'deny-read': { type: 'string', multiple: true },
  protect: { type: 'string', multiple: true },
  'allow-unix-socket': { type: 'string', multiple: true },
  mode: { type: 'string', multiple: true },
  tmp: { type: 'string', multiple: true },
  cwd: { type: 'string', multiple: true },
  config: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
  network: { type: 'boolean' },
  'allow-domain': { type: 'string', multiple: true },
  'deny-domain': { type: 'string', multiple: true },
  'clear-env': { type: 'boolean' },
  'allow-git-writes': { type: 'boolean' },
  'allow-degraded': { type: 'boolean' },
  'repository-scan-budget': { type: 'string', multiple: true },
  'require-repository-scan': { type: 'boolean' },
  'no-config': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'dry-run-env-values': { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Single = 'mode' | 'tmp' | 'cwd' | 'config' | 'repository-scan-budget';

/** Where the options end: the index of `--` or of the command's first word. */
function optionsEnd(argv: string[]): { end: number; command: number } {
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind === 'option-terminator') return { end: t.index, command: t.index + 1 };
    if (t.kind === 'positional') return { end: t.index, command: t.index };
  }
  return { end: argv.length, command: argv.length };
}

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string[] : boolean };

const SHORT: Record<string, string> = Object.fromEntries(
  Object.entries(OPTIONS).flatMap(([name, o]) => ('short' in o ? [[o.short, name]] : [])),
);

/**
 * The options of a well-formed command line (`--name`, `--name=VALUE`,
 * `--name VALUE`, `-x VALUE`, `-x`), read without util.parseArgs, whose first
 * call costs a cold CLI start 1.3-1.7 ms. Anything else (an unknown option, a
 * short group, an empty value or a value that starts with '-', a boolean
 * given a value, a missing value) returns undefined, and parseArgs reads the
 * line and gives its errors. test/cli-args.test.ts checks both agree.
 */
export function scanOptions(argv: string[]): { values: Values; command: number } | undefined {
  const values: Record<string, string[] | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return { values, command: i + 1 };
    if (a === '-' || !a.startsWith('-')) return { values, command: i };
    const long = a.startsWith('--');
    const eq = long ? a.indexOf('=') : -1;
    const name = long ? a.slice(2, eq < 0 ? undefined : eq) : a.length === 2 ? SHORT[a[1]] : undefined;
    if (name === undefined || !Object.hasOwn(OPTIONS, name)) return undefined;
    const opt = OPTIONS[name as keyof typeof OPTIONS];
    if (opt.type === 'boolean') {
      if (eq >= 0) return undefined;
      values[name] = true;
      continue;
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('-'))) return undefined;
    ((values[name] as string[] | undefined) ?? (values[name] = [])).push(value);
  }
  return { values, command: argv.length };
}

/** util.parseArgs's reading of the options, with its errors said plainly. */
export function parseWithNode(argv: string[]): { values: Values; command: number } {
  const { end, command } = optionsEnd(argv);
  let parsed;
  try {
    parsed = parseArgs({ args: argv.slice(0, end), options: OPTIONS, strict: true, allowPositionals: false, tokens: true });
  } catch (e) {
    const msg = (e as Error).message;
    // parseArgs says "argument is ambiguous" for `-w --` and `-w -x`: say it plainly.
    const ambiguous = /option argument for '([^']+)'/.exec(msg);
    if (ambiguous)
      throw new UsageError(
        `option ${ambiguous[1]} needs a value, not an option (for a value that starts with '-', write ${ambiguous[1].startsWith('--') ? `${ambiguous[1]}=VALUE` : `${ambiguous[1]}VALUE`})`,
      );
    if ((e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const bad = /Unknown option '([^']+)'/.exec(msg)?.[1] ?? msg;
      throw new UsageError(`unknown option ${JSON.stringify(bad)} (use -- before a command that starts with '-')`);
    }
    throw new UsageError(msg.replace(/\.$/, ''));
  }
  for (const t of parsed.tokens) {
    if (t.kind === 'option' && t.value === '') throw new UsageError(`option ${t.rawName} needs a non-empty value`);
  }
  return { values: parsed.values, command };
}

function scanBudget(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)))
    throw new UsageError(`--repository-scan-budget expects a whole number of entries, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** Parses exec's options; everything after `--` or the first non-option word is the command. */
export function parseExecArgs(argv: string[]): ExecArgs {
  const { values: v, command } = scanOptions(argv) ?? parseWithNode(argv);
  const single = (key: Single): string | undefined => {
    const given = [...new Set(v[key] ?? [])];
    if (given.length > 1) throw new UsageError(`--${key} given more than once, with different values: ${given.join(', ')}`);
    return given[0];
  };
  const out: ExecArgs = {
    write: v.write ?? [],
    readOnly: v['read-only'] ?? [],
    denyRead: v['deny-read'] ?? [],
    protect: v.protect ?? [],
    allowUnixSocket: v['allow-unix-socket'] ?? [],
    mode: single('mode'),
    tmp: single('tmp'),
    cwd: single('cwd'),
    config: single('config'),
    allowGitWrites: !!v['allow-git-writes'],
    allowDegraded: !!v['allow-degraded'],
    repositoryScanBudget: scanBudget(single('repository-scan-budget')),
    requireRepositoryScan: !!v['require-repository-scan'],
    network: !!v.network,
    allowDomain: v['allow-domain'] ?? [],
    denyDomain: v['deny-domain'] ?? [],
    noConfig: !!v['no-config'],
    verbose: !!v.verbose,
    env: v.env ?? [],
    clearEnv: !!v['clear-env'],
    dryRun: !!v['dry-run'],
    dryRunEnvValues: !!v['dry-run-env-values'],
    help: !!v.help,
    command: argv.slice(command),
  };
  if (out.help) return out;
  if (out.command.length === 0) throw new UsageError('no command given');
  if (out.dryRunEnvValues && !out.dryRun) throw new UsageError('--dry-run-env-values needs --dry-run');
  if (out.config !== undefined && out.noConfig) throw new UsageError('--config and --no-config contradict each other');
  for (const [flag, list] of [
    ['--allow-domain', out.allowDomain],
    ['--deny-domain', out.denyDomain],
  ] as const) {
    if (out.network && list.length)
      throw new UsageError(
        `--network and ${flag} contradict each other (--network gives the host's whole network; ${flag} goes through the sandbox's proxy)`,
      );
  }
  for (const e of out.env) if (!/^[^=]+=/.test(e)) throw new UsageError(`--env expects K=V, got ${JSON.stringify(e)}`);
  // One path, two roles that cannot both hold.
  const roles: [string, string[]][] = [
    ['-w', out.write],
    ['-r', out.readOnly],
    ['--deny-read', out.denyRead],
  ];
  const seen = new Map<string, string>();
  for (const [flag, list] of roles) {
    for (const p of new Set(list.map((x) => path.resolve(x)))) {
      const other = seen.get(p);
      if (other && other !== flag) throw new UsageError(`${p} is given to both ${other} and ${flag}`);
      seen.set(p, flag);
    }
  }
  return out;
}
