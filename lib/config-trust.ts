// Discovered config files (sbx-native.json / .sbx-native.json from the cwd
// upwards) may have been checked in or planted: a sandboxed command can write
// one for the next run. Such a file may only narrow the policy the flags give;
// anything else is refused naming the file, the key and the opt-in (--config).
import path from 'path';
import { ConfigError, fail, fromOwn, isObject, jsonObject, LoadedConfig, OWN_KEYS } from './config';
import { FsView, realOrUndefined, realView } from './fsview';
import { daemonSockets } from './policy';
import type { Access, SandboxPolicy } from './policy';
import { DEFAULT_SCAN_BUDGET } from './repository-scan';

function widening(file: string, key: string, value: unknown, why: string): never {
  throw new ConfigError(
    `${file}: ${key} = ${JSON.stringify(value)}: ${why}. A discovered config file may only narrow the sandbox ` +
      `(read-only carve-outs, deny-read, protected names, network false, tmp private or none, mode read-only); ` +
      `to use this file as it is, name it with --config ${file} (or ignore discovered files with --no-config)`,
  );
}

/**
 * A discovered file: sbx-native JSON whose every key narrows the policy the
 * flags give (`flagMode`: the --mode flag, if any). Widening keys and values,
 * and unknown keys, throw a ConfigError naming the file, the key and --config.
 */
export function loadDiscoveredConfig(
  file: string,
  cwd: string,
  flagMode: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  view: FsView = realView,
): LoadedConfig {
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = view.readFile(abs);
  } catch (e) {
    throw new ConfigError(`${abs}: cannot read config: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const data = jsonObject(abs, text);
  for (const [k, v] of Object.entries(data)) {
    if (!OWN_KEYS.includes(k)) widening(abs, k, v, 'unknown key (it could mean anything)');
    if (k === 'mode') {
      if (v === 'full') widening(abs, k, v, 'turns the filesystem restriction off');
      if (v === 'workspace-write' && flagMode === 'read-only') widening(abs, k, v, 'makes writable what --mode read-only keeps read-only');
      if (v !== 'read-only' && v !== 'workspace-write')
        widening(abs, k, v, "only 'read-only' (or 'workspace-write', the default) may be given");
    } else if (k === 'network' && v !== false) widening(abs, k, v, 'only false may be given');
    else if (k === 'tmp' && v !== 'private' && v !== 'none')
      widening(abs, k, v, "only 'private' or 'none' may be given ('host' makes /tmp writable)");
    else if (k === 'allowGitWrites' && v !== false) widening(abs, k, v, 'lifts the protection of .git');
    else if (k === 'repositoryScanBudget' && !(typeof v === 'number' && v >= DEFAULT_SCAN_BUDGET))
      widening(abs, k, v, `a budget below the default (${DEFAULT_SCAN_BUDGET}) leaves more of the roots unscanned for repositories`);
    else if (k === 'writableRoots' && !(Array.isArray(v) && v.length === 0))
      widening(abs, k, v, 'adds writable roots (only [] may be given)');
    else if (k === 'allowUnixSockets' && !(Array.isArray(v) && v.length === 0))
      widening(abs, k, v, 'lets the command reach unix sockets outside the sandbox (only [] may be given)');
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
    if (p.requireRepositoryScan) out.requireRepositoryScan = true;
    if (p.repositoryScanBudget !== undefined) out.repositoryScanBudget = Math.max(out.repositoryScanBudget ?? 0, p.repositoryScanBudget);
    if (p.writableRoots) out.writableRoots = [];
    for (const key of ['readOnly', 'denyRead', 'protect'] as const) if (p[key]) out[key] = [...(out[key] ?? []), ...p[key]!];
    for (const [k, v] of Object.entries(p.rules ?? {})) {
      out.rules = out.rules ?? {};
      if (!out.rules[k] || RANK[v] > RANK[out.rules[k]]) out.rules[k] = v;
    }
  }
  return out;
}

/**
 * A read-only carve-out or 'read' rule from a discovered file strictly under a
 * deny-read path (of the final policy: flags, files, host daemon sockets with
 * the network off) would show what is hidden: refused.
 */
export function refuseReexposure(
  discovered: LoadedConfig[],
  policy: SandboxPolicy,
  env: NodeJS.ProcessEnv = process.env,
  view: FsView = realView,
): void {
  // Only a discovered file can widen; without one there is nothing to compare
  // (and resolving the hidden paths costs a failed realpath, a thrown Error, each).
  if (!discovered.length) return;
  const hidden = [
    ...(policy.denyRead ?? []),
    ...Object.entries(policy.rules ?? {})
      .filter(([, a]) => a === 'none')
      .map(([p]) => p),
  ];
  if (!policy.network && policy.mode !== 'full') hidden.push(...daemonSockets(env, view));
  const forms = (p: string) => [...new Set([path.normalize(p), realOrUndefined(view, p) ?? p])];
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
