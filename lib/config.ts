// Config files: sbx-native's own JSON, Codex's config.toml and
// sandbox-runtime's settings JSON, each turned into a SandboxPolicy. Unknown
// keys are warned about by name; wrong types are errors naming the key path.
// A file named by --config may say anything; a discovered one may only
// narrow the policy (config-trust.ts).
import fs from 'fs';
import path from 'path';
import type { SandboxPolicy } from './policy';

export class ConfigError extends Error {
  code = 'SBX_INVALID_CONFIG';
  name = 'ConfigError';
}

export interface LoadedConfig {
  file: string;
  format: 'sbx-native' | 'codex' | 'sandbox-runtime';
  policy: SandboxPolicy;
  warnings: string[];
}

/** Names searched from the cwd upwards when no --config is given. */
export const DISCOVERED_NAMES = ['sbx-native.json', '.sbx-native.json'];

export const OWN_KEYS = [
  '$schema',
  'mode',
  'writableRoots',
  'readOnly',
  'denyRead',
  'rules',
  'network',
  'tmp',
  'protect',
  'allowGitWrites',
  'allowUnixSockets',
  'repositoryScanBudget',
  'requireRepositoryScan',
];

export function fail(file: string, key: string, value: unknown, why: string): never {
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

/** A config file's text as a JSON object, or a ConfigError naming the file. */
export function jsonObject(abs: string, text: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${abs}: invalid JSON: ${(e as Error).message}`);
  }
  if (!isObject(data)) fail(abs, '(top level)', data, 'expected an object');
  return data;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function fromOwn(file: string, data: Record<string, unknown>, warnings: string[], home: string | undefined): SandboxPolicy {
  const policy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    if (!OWN_KEYS.includes(k)) warnings.push(`${file}: unknown key "${k}" ignored`);
    else if (k === '$schema') continue;
    else if (['writableRoots', 'readOnly', 'denyRead', 'allowUnixSockets'].includes(k)) policy[k] = stringList(v, k, file, home);
    else if (k === 'rules') {
      if (!isObject(v)) fail(file, k, v, 'expected an object of path -> read|write|none');
      policy.rules = Object.fromEntries(Object.entries(v).map(([p, a]) => [expandPath(p, `rules[${JSON.stringify(p)}]`, file, home), a]));
    } else policy[k] = v; // types and values are checked by resolvePolicy, which names the key
  }
  return policy as SandboxPolicy;
}

/**
 * sandbox-runtime's settings: filesystem.{allowWrite,denyWrite,denyRead,allowRead}, network.allowedDomains,
 * network.allowUnixSockets (-> allowUnixSockets) and network.allowAllUnixSockets (-> allowUnixSockets ['/']).
 */
function fromSandboxRuntime(file: string, data: Record<string, unknown>, warnings: string[], home: string | undefined): SandboxPolicy {
  const known: Record<string, string[]> = {
    filesystem: ['allowWrite', 'denyWrite', 'denyRead', 'allowRead'],
    network: ['allowedDomains', 'deniedDomains', 'allowUnixSockets', 'allowAllUnixSockets'],
  };
  for (const k of Object.keys(data)) if (!known[k]) warnings.push(`${file}: unsupported key "${k}" ignored`);
  const fsCfg = data.filesystem ?? {};
  const net = data.network ?? {};
  if (!isObject(fsCfg)) fail(file, 'filesystem', fsCfg, 'expected an object');
  if (!isObject(net)) fail(file, 'network', net, 'expected an object');
  for (const [section, obj] of [
    ['filesystem', fsCfg],
    ['network', net],
  ] as const) {
    for (const k of Object.keys(obj)) if (!known[section].includes(k)) warnings.push(`${file}: unsupported key "${section}.${k}" ignored`);
  }
  const allowed = net.allowedDomains ?? [];
  const denied = net.deniedDomains ?? [];
  if (!Array.isArray(allowed)) fail(file, 'network.allowedDomains', allowed, 'expected an array of domains');
  if (!Array.isArray(denied)) fail(file, 'network.deniedDomains', denied, 'expected an array of domains');
  // sandbox-runtime: the allowlist is what the proxy lets through ([]: nothing); deniedDomains win over it.
  const network = allowed.length > 0 ? { allowedDomains: allowed, deniedDomains: denied } : false;
  const deny = new Set(stringList(fsCfg.denyWrite, 'filesystem.denyWrite', file, home));
  // sandbox-runtime: a path in both allowWrite and denyWrite is not writable (deny wins).
  const writable = stringList(fsCfg.allowWrite, 'filesystem.allowWrite', file, home).filter((p) => !deny.has(p));
  const rules: Record<string, 'read' | 'none'> = {};
  for (const p of stringList(fsCfg.denyRead, 'filesystem.denyRead', file, home)) rules[p] = 'none';
  for (const p of stringList(fsCfg.allowRead, 'filesystem.allowRead', file, home)) rules[p] = 'read'; // allow-read carve-outs inside denied areas
  const sockets = stringList(net.allowUnixSockets, 'network.allowUnixSockets', file, home);
  if (bool(net.allowAllUnixSockets, 'network.allowAllUnixSockets', file)) sockets.push('/');
  return { writableRoots: writable, readOnly: [...deny], rules, network, ...(sockets.length ? { allowUnixSockets: sockets } : {}) };
}

/** Codex's config.toml: sandbox_mode and [sandbox_workspace_write]. */
function fromCodex(
  file: string,
  data: Record<string, unknown>,
  warnings: string[],
  home: string | undefined,
  cwd: string,
  tmpdir: string | undefined,
): SandboxPolicy {
  // Codex 0.171's domain lists live only in its permission profiles
  // (default_permissions, [permissions.<name>.network] domains, enforced with
  // features.network_proxy): Codex uses them only when sandbox_mode is unset.
  // sbx-native does not read profiles, so a file that would use one is refused
  // rather than run with other rules; beside sandbox_mode Codex ignores them too.
  const profiles = ['default_permissions', 'permissions'].filter((k) => k in data);
  if (profiles.length && data.sandbox_mode === undefined)
    fail(
      file,
      profiles[0],
      data[profiles[0]],
      'Codex permission profiles (default_permissions, [permissions.<name>], their network domains) are not supported yet; use sandbox_mode and [sandbox_workspace_write], or --allow-domain for domain lists',
    );
  for (const k of profiles) warnings.push(`${file}: "${k}" ignored (Codex ignores permission profiles when sandbox_mode is set)`);
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
  return {
    mode: 'workspace-write',
    writableRoots: roots,
    tmp: 'none',
    network: bool(ww.network_access, 'sandbox_workspace_write.network_access', file) ?? false,
  };
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
  const data = jsonObject(abs, text);
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
      try {
        found = fs.statSync(f).isFile();
      } catch {
        /* missing or not searchable */
      }
      if (found) out.push(f);
    }
    if (dir === path.dirname(dir)) return out;
  }
}
