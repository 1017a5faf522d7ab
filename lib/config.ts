// Config files: sbx-native's own JSON, Codex's config.toml and
// sandbox-runtime's settings JSON, each turned into a SandboxPolicy. Unknown
// keys are warned about by name; wrong types are errors naming the key path.
//
// A file named by --config is the user's choice and may say anything. A file
// found by walking up from the cwd may have been checked in or planted (a
// sandboxed command could write one for the next run): it may only narrow the
// policy, and anything else is refused naming the file, the key and the opt-in.
import fs from 'fs';
import path from 'path';
import { daemonSockets } from './policy';
import type { Access, SandboxPolicy } from './policy';

export class ConfigError extends Error {
  code = 'SBX_INVALID_CONFIG';
}

export interface LoadedConfig {
  file: string;
  format: 'sbx-native' | 'codex' | 'sandbox-runtime';
  policy: SandboxPolicy;
  warnings: string[];
}

/** Names searched from the cwd upwards when no --config is given. */
export const DISCOVERED_NAMES = ['sbx-native.json', '.sbx-native.json'];

const OWN_KEYS = ['$schema', 'mode', 'writableRoots', 'readOnly', 'denyRead', 'rules', 'network', 'tmp', 'protect', 'allowGitWrites'];

function fail(file: string, key: string, value: unknown, why: string): never {
  throw new ConfigError(`${file}: ${key} = ${JSON.stringify(value)}: ${why}`);
}

function expandPath(p: unknown, key: string, file: string, home: string | undefined): string {
  if (typeof p !== 'string') fail(file, key, p, 'expected a string path');
  if (/[*?[\]{}]/.test(p)) fail(file, key, p, 'glob patterns are not supported; list the paths');
  if (p === '~' || p.startsWith('~/')) {
    if (!home) fail(file, key, p, '~ needs $HOME');
    return path.join(home, p.slice(1));
  }
  return path.resolve(path.dirname(file), p);
}

function stringList(v: unknown, key: string, file: string, home: string | undefined): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(file, key, v, 'expected an array of paths');
  return v.map((p, i) => expandPath(p, `${key}[${i}]`, file, home));
}

function bool(v: unknown, key: string, file: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail(file, key, v, 'expected true or false');
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fromOwn(file: string, data: Record<string, unknown>, warnings: string[], home: string | undefined): SandboxPolicy {
  const policy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (!OWN_KEYS.includes(k)) warnings.push(`${file}: unknown key "${k}" ignored`);
    else if (k === '$schema') continue;
    else if (['writableRoots', 'readOnly', 'denyRead'].includes(k)) policy[k] = stringList(v, k, file, home);
    else if (k === 'rules') {
      if (!isObject(v)) fail(file, k, v, 'expected an object of path -> read|write|none');
      policy.rules = Object.fromEntries(Object.entries(v).map(([p, a]) => [expandPath(p, `rules[${JSON.stringify(p)}]`, file, home), a]));
    } else policy[k] = v; // types and values are checked by resolvePolicy, which names the key
  }
  return policy as SandboxPolicy;
}

/** sandbox-runtime's settings: filesystem.{allowWrite,denyWrite,denyRead,allowRead}, network.allowedDomains. */
function fromSandboxRuntime(file: string, data: Record<string, unknown>, warnings: string[], home: string | undefined): SandboxPolicy {
  const known: Record<string, string[]> = {
    filesystem: ['allowWrite', 'denyWrite', 'denyRead', 'allowRead'],
    network: ['allowedDomains', 'deniedDomains'],
  };
  for (const k of Object.keys(data)) if (!known[k]) warnings.push(`${file}: unsupported key "${k}" ignored`);
  const fsCfg = data.filesystem ?? {};
  const net = data.network ?? {};
  if (!isObject(fsCfg)) fail(file, 'filesystem', fsCfg, 'expected an object');
  if (!isObject(net)) fail(file, 'network', net, 'expected an object');
  for (const [section, obj] of [['filesystem', fsCfg], ['network', net]] as const) {
    for (const k of Object.keys(obj)) if (!known[section].includes(k)) warnings.push(`${file}: unsupported key "${section}.${k}" ignored`);
  }
  const allowed = net.allowedDomains ?? [];
  if (!Array.isArray(allowed)) fail(file, 'network.allowedDomains', allowed, 'expected an array of domains');
  if (allowed.length > 0) {
    throw new ConfigError(`${file}: network.allowedDomains = ${JSON.stringify(allowed)}: a domain allowlist is not supported yet; ` +
      'use [] for no network, or run with --network for full network access');
  }
  const deny = new Set(stringList(fsCfg.denyWrite, 'filesystem.denyWrite', file, home));
  // sandbox-runtime: a path in both allowWrite and denyWrite is not writable (deny wins).
  const writable = stringList(fsCfg.allowWrite, 'filesystem.allowWrite', file, home).filter((p) => !deny.has(p));
  const rules: Record<string, 'read' | 'none'> = {};
  for (const p of stringList(fsCfg.denyRead, 'filesystem.denyRead', file, home)) rules[p] = 'none';
  for (const p of stringList(fsCfg.allowRead, 'filesystem.allowRead', file, home)) rules[p] = 'read'; // allow-read carve-outs inside denied areas
  return { writableRoots: writable, readOnly: [...deny], rules, network: false };
}

/** Codex's config.toml: sandbox_mode and [sandbox_workspace_write]. */
function fromCodex(file: string, data: Record<string, unknown>, warnings: string[], home: string | undefined, cwd: string, tmpdir: string | undefined): SandboxPolicy {
  const mode = data.sandbox_mode ?? 'read-only';
  if (mode === 'danger-full-access') return { mode: 'full', network: true };
  if (mode === 'read-only') return { mode: 'read-only', tmp: 'none' };
  if (mode !== 'workspace-write') fail(file, 'sandbox_mode', mode, "expected 'read-only', 'workspace-write' or 'danger-full-access'");
  const ww = data.sandbox_workspace_write ?? {};
  if (!isObject(ww)) fail(file, 'sandbox_workspace_write', ww, 'expected a table');
  const known = ['writable_roots', 'network_access', 'exclude_tmpdir_env_var', 'exclude_slash_tmp'];
  for (const k of Object.keys(ww)) if (!known.includes(k)) warnings.push(`${file}: unsupported key "sandbox_workspace_write.${k}" ignored`);
  const roots = [cwd, ...stringList(ww.writable_roots, 'sandbox_workspace_write.writable_roots', file, home)];
  // Codex makes /tmp and $TMPDIR writable unless excluded.
  if (!bool(ww.exclude_slash_tmp, 'sandbox_workspace_write.exclude_slash_tmp', file)) roots.push('/tmp');
  if (!bool(ww.exclude_tmpdir_env_var, 'sandbox_workspace_write.exclude_tmpdir_env_var', file) && tmpdir) roots.push(tmpdir);
  return { mode: 'workspace-write', writableRoots: roots, tmp: 'none', network: bool(ww.network_access, 'sandbox_workspace_write.network_access', file) ?? false };
}

export function loadConfig(file: string, cwd: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError(`${abs}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const warnings: string[] = [];
  const home = env.HOME;
  if (abs.endsWith('.toml')) {
    let data: Record<string, unknown>;
    try {
      data = (require('smol-toml') as { parse(s: string): Record<string, unknown> }).parse(text);
    } catch (e) {
      throw new ConfigError(`${abs}: invalid TOML: ${(e as Error).message.split('\n')[0]}`);
    }
    return { file: abs, format: 'codex', policy: fromCodex(abs, data, warnings, home, cwd, env.TMPDIR), warnings };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${abs}: invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(data)) fail(abs, '(top level)', data, 'expected an object');
  if ('filesystem' in data || ('network' in data && isObject(data.network))) {
    return { file: abs, format: 'sandbox-runtime', policy: fromSandboxRuntime(abs, data, warnings, home), warnings };
  }
  return { file: abs, format: 'sbx-native', policy: fromOwn(abs, data, warnings, home), warnings };
}

/** The nearest sbx-native.json / .sbx-native.json from `cwd` upwards. */
export function discoverConfig(cwd: string): string | undefined {
  return discoverConfigs(cwd)[0];
}

/**
 * Every sbx-native.json / .sbx-native.json from `cwd` upwards, nearest first.
 * All of them apply (each may only narrow), so a file planted nearer the cwd
 * cannot shadow a farther one's restrictions.
 */
export function discoverConfigs(cwd: string): string[] {
  const out: string[] = [];
  for (let dir = cwd; ; dir = path.dirname(dir)) {
    for (const name of DISCOVERED_NAMES) {
      const f = path.join(dir, name);
      let found = false;
      try { found = fs.statSync(f).isFile(); } catch { /* missing or not searchable */ }
      if (found) out.push(f);
    }
    if (dir === path.dirname(dir)) return out;
  }
}

function widening(file: string, key: string, value: unknown, why: string): never {
  throw new ConfigError(`${file}: ${key} = ${JSON.stringify(value)}: ${why}. A discovered config file may only narrow the sandbox ` +
    `(read-only carve-outs, deny-read, protected names, network false, tmp private or none, mode read-only); ` +
    `to use this file as it is, name it with --config ${file} (or ignore discovered files with --no-config)`);
}

/**
 * A discovered file: sbx-native JSON whose every key narrows the policy the
 * flags give (`flagMode`: the --mode flag, if any). Widening keys and values,
 * and unknown keys, throw a ConfigError naming the file, the key and --config.
 */
export function loadDiscoveredConfig(file: string, cwd: string, flagMode: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ConfigError(`${abs}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${abs}: invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(data)) fail(abs, '(top level)', data, 'expected an object');
  for (const [k, v] of Object.entries(data)) {
    if (!OWN_KEYS.includes(k)) widening(abs, k, v, 'unknown key (it could mean anything)');
    if (k === 'mode') {
      if (v === 'full') widening(abs, k, v, 'turns the filesystem restriction off');
      if (v === 'workspace-write' && flagMode === 'read-only') widening(abs, k, v, 'makes writable what --mode read-only keeps read-only');
      if (v !== 'read-only' && v !== 'workspace-write') widening(abs, k, v, "only 'read-only' (or 'workspace-write', the default) may be given");
    } else if (k === 'network' && v !== false) widening(abs, k, v, 'only false may be given');
    else if (k === 'tmp' && v !== 'private' && v !== 'none') widening(abs, k, v, "only 'private' or 'none' may be given ('host' makes /tmp writable)");
    else if (k === 'allowGitWrites' && v !== false) widening(abs, k, v, 'lifts the protection of .git');
    else if (k === 'writableRoots' && !(Array.isArray(v) && v.length === 0)) widening(abs, k, v, 'adds writable roots (only [] may be given)');
    else if (k === 'rules') {
      if (!isObject(v)) fail(abs, k, v, 'expected an object of path -> read|none');
      for (const [p, a] of Object.entries(v)) {
        if (a !== 'read' && a !== 'none') widening(abs, `rules[${JSON.stringify(p)}]`, a, "only 'read' and 'none' rules may be given");
      }
    }
  }
  const warnings: string[] = [];
  return { file: abs, format: 'sbx-native', policy: fromOwn(abs, data, warnings, env.HOME), warnings };
}

const RANK: Record<Access, number> = { read: 0, write: 1, none: 2 };

/** The discovered files' policies in one: lists added up, the strictest single values. */
export function mergeNarrowing(list: SandboxPolicy[]): SandboxPolicy {
  const out: SandboxPolicy = {};
  for (const p of list) {
    if (p.mode) out.mode = out.mode === 'read-only' || p.mode === 'read-only' ? 'read-only' : p.mode;
    if (p.tmp) out.tmp = out.tmp === 'none' || p.tmp === 'none' ? 'none' : p.tmp;
    if (p.network === false) out.network = false;
    if (p.allowGitWrites === false) out.allowGitWrites = false;
    if (p.writableRoots) out.writableRoots = [];
    for (const key of ['readOnly', 'denyRead', 'protect'] as const) if (p[key]) out[key] = [...(out[key] ?? []), ...p[key]!];
    for (const [k, v] of Object.entries(p.rules ?? {})) {
      out.rules = out.rules ?? {};
      if (!out.rules[k] || RANK[v] > RANK[out.rules[k]]) out.rules[k] = v;
    }
  }
  return out;
}

function realOr(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

/**
 * A read-only carve-out or 'read' rule from a discovered file strictly under a
 * deny-read path (of the final policy: flags, files, host daemon sockets with
 * the network off) would show what is hidden: refused.
 */
export function refuseReexposure(discovered: LoadedConfig[], policy: SandboxPolicy, env: NodeJS.ProcessEnv = process.env): void {
  const hidden = [...(policy.denyRead ?? []), ...Object.entries(policy.rules ?? {}).filter(([, a]) => a === 'none').map(([p]) => p)];
  if (!policy.network && policy.mode !== 'full') hidden.push(...daemonSockets(env));
  const forms = (p: string) => [...new Set([path.normalize(p), realOr(p)])];
  const hiddenForms = hidden.flatMap(forms);
  const under = (p: string) => forms(p).some((f) => hiddenForms.some((h) => f !== h && f.startsWith(h === '/' ? '/' : h + '/')));
  for (const c of discovered) {
    (c.policy.readOnly ?? []).forEach((p, i) => {
      if (under(p)) widening(c.file, `readOnly[${i}]`, p, 'shows (read-only) a path that is hidden by a deny-read path');
    });
    for (const [p, a] of Object.entries(c.policy.rules ?? {})) {
      if (a === 'read' && under(p)) widening(c.file, `rules[${JSON.stringify(p)}]`, a, 'shows a path that is hidden by a deny-read path');
    }
  }
}
