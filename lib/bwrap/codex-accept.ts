// Whether Codex would run a given `bwrap`: it takes the first one on PATH,
// resolves symlinks, and skips a candidate under the cwd, under a writable
// root of its policy (workspace-write makes /tmp and $TMPDIR writable by
// default) or in a directory others may write, falling back to its bundled
// bubblewrap (docs/bwrap.md).
import fs from 'fs';
import path from 'path';

export interface Verdict {
  accepted: boolean;
  /** It is the first `bwrap` on PATH. */
  onPath: boolean;
  reasons: string[];
  real?: string;
}

function under(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(`${dir}/`);
}

export function codexVerdict(file: string, ctx: { cwd: string; env: NodeJS.ProcessEnv; writableRoots?: string[] }): Verdict {
  const reasons: string[] = [];
  let real: string | undefined;
  try {
    real = fs.realpathSync(file);
  } catch {
    return { accepted: false, onPath: false, reasons: [`${file} does not exist`] };
  }
  const realOr = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const roots = [ctx.cwd, '/tmp', ...(ctx.env.TMPDIR ? [ctx.env.TMPDIR] : []), ...(ctx.writableRoots ?? [])].map(realOr);
  for (const r of roots) if (under(real, r)) reasons.push(`${real} is under ${r === realOr(ctx.cwd) ? 'the cwd' : 'a writable root'} ${r}`);
  const parent = path.dirname(real);
  const st = fs.statSync(parent);
  if ((st.mode & 0o022) !== 0) reasons.push(`its directory ${parent} is writable by others`);
  const first = (ctx.env.PATH ?? '')
    .split(':')
    .filter(Boolean)
    .map((d) => path.join(d, 'bwrap'))
    .find((c) => fs.existsSync(c));
  const onPath = first !== undefined && realOr(first) === real;
  if (!onPath) reasons.push(first ? `the first bwrap on PATH is ${first}` : 'no bwrap on PATH');
  return { accepted: reasons.length === 0, onPath, reasons, real };
}
