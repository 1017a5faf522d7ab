// The sandbox policy a caller gives, and its validation. Everything here is
// pure: no filesystem access beyond resolving the given paths.
import fs from 'fs';
import path from 'path';

export interface SandboxPolicy {
  /** Directories the command may write beneath. Default: the command's cwd. */
  writableRoots?: string[];
  /** Allow network access. Default false: a new network namespace with only loopback. */
  network?: boolean;
}

export interface ResolvedPolicy {
  writableRoots: string[];
  /** Roots that did not exist: reported, not created, not fatal. */
  missingRoots: string[];
  network: boolean;
}

export class PolicyError extends Error {
  code = 'SBX_INVALID_POLICY';
  constructor(public key: string, public value: unknown, reason: string) {
    super(`invalid sandbox policy: ${key} = ${JSON.stringify(value)}: ${reason}`);
  }
}

const KNOWN_KEYS = new Set(['writableRoots', 'network']);

export function checkPath(key: string, p: unknown): string {
  if (typeof p !== 'string') throw new PolicyError(key, p, 'expected a string path');
  if (p === '') throw new PolicyError(key, p, 'empty path');
  if (p.includes('\0')) throw new PolicyError(key, p, 'path contains a NUL byte');
  if (!path.isAbsolute(p)) throw new PolicyError(key, p, 'path must be absolute');
  return path.normalize(p);
}

export function resolvePolicy(policy: SandboxPolicy | undefined, cwd: string): ResolvedPolicy {
  const p = policy ?? {};
  if (typeof p !== 'object' || Array.isArray(p)) throw new PolicyError('sandbox', p, 'expected an object');
  for (const key of Object.keys(p)) {
    if (!KNOWN_KEYS.has(key)) throw new PolicyError(key, (p as Record<string, unknown>)[key], 'unknown key');
  }
  if (p.network !== undefined && typeof p.network !== 'boolean') {
    throw new PolicyError('network', p.network, 'expected a boolean');
  }
  const given = p.writableRoots ?? [cwd];
  if (!Array.isArray(given)) throw new PolicyError('writableRoots', given, 'expected an array of paths');
  const roots: string[] = [];
  const missingRoots: string[] = [];
  given.forEach((r, i) => {
    const abs = checkPath(`writableRoots[${i}]`, r);
    let real: string;
    try {
      real = fs.realpathSync(abs);
    } catch {
      missingRoots.push(abs);
      return;
    }
    if (!fs.statSync(real).isDirectory()) {
      throw new PolicyError(`writableRoots[${i}]`, r, 'not a directory (a writable root must be a directory)');
    }
    roots.push(real);
  });
  return { writableRoots: dedupeNested(roots), missingRoots, network: p.network ?? false };
}

/** Drops roots that lie inside another root: the outer one already grants them. */
function dedupeNested(roots: string[]): string[] {
  const sorted = [...new Set(roots)].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const r of sorted) {
    if (!kept.some((k) => k === '/' || r === k || r.startsWith(k + '/'))) kept.push(r);
  }
  return kept;
}
