// bubblewrap's creating operations (--dir, --symlink, --file, --chmod) done
// inside the sandbox, with the command's own rights, in one short run of
// Node before the command: what they make in a writable root stays there (as
// with bubblewrap, which makes them through the bind), and where the sandbox
// is read-only they fail with bubblewrap's message. Nothing is done on the
// host from outside, so a symlink planted by an earlier run leads nowhere
// the sandbox could not write anyway.
import type { SpawnSyncOptions } from '../sync';

export type SetupOp =
  | { op: 'dir'; dest: string; perms?: number }
  | { op: 'symlink'; target: string; dest: string }
  | { op: 'file'; dest: string; perms?: number; data: string } // base64
  | { op: 'chmod'; dest: string; perms: number };

// Runs inside the sandbox as `node -e SCRIPT JSON`; prints `bwrap: ...` and exits 1 on the first failure.
// Parents made for a --dir or --file lose group and other access where its
// --perms gives that class none, as bubblewrap's do (least astonishment: a
// private directory is not reachable through a world-readable parent).
const SCRIPT = `
const fs = require('fs'), path = require('path');
const text = { EROFS: 'Read-only file system', EACCES: 'Permission denied', ENOENT: 'No such file or directory', EEXIST: 'File exists', ENOTDIR: 'Not a directory', EPERM: 'Operation not permitted', ELOOP: 'Too many levels of symbolic links' };
const die = (m, e) => { process.stderr.write('bwrap: ' + m + (e ? ': ' + (text[e.code] || e.message) : '') + '\\n'); process.exit(1); };
const parents = (d, perms) => {
  let mode = 0o755;
  if (perms !== undefined && (perms & 0o070) === 0) mode &= ~0o050;
  if (perms !== undefined && (perms & 0o007) === 0) mode &= ~0o005;
  try { fs.mkdirSync(path.dirname(d), { recursive: true, mode }); } catch (e) { die("Can't mkdir parents for " + d, e); }
};
for (const o of JSON.parse(process.argv[1])) {
  if (o.op === 'dir') {
    parents(o.dest, o.perms);
    try { fs.mkdirSync(o.dest, { mode: o.perms ?? 0o755 }); if (o.perms !== undefined) fs.chmodSync(o.dest, o.perms); }
    catch (e) { if (!(e.code === 'EEXIST' && fs.statSync(o.dest, { throwIfNoEntry: false })?.isDirectory())) die("Can't mkdir " + o.dest, e); }
  } else if (o.op === 'symlink') {
    parents(o.dest);
    try { fs.symlinkSync(o.target, o.dest); }
    catch (e) {
      if (e.code !== 'EEXIST') die("Can't make symlink at " + o.dest, e);
      let existing; try { existing = fs.readlinkSync(o.dest); } catch { die("Can't make symlink at " + o.dest + ': destination exists and is not a symlink'); }
      if (existing !== o.target) die("Can't make symlink at " + o.dest + ': existing destination is ' + existing);
    }
  } else if (o.op === 'file') {
    parents(o.dest, o.perms);
    const mode = o.perms ?? 0o666;
    try { fs.writeFileSync(o.dest, Buffer.from(o.data, 'base64'), { mode }); fs.chmodSync(o.dest, mode); } catch (e) { die("Can't create file " + o.dest, e); }
  } else if (o.op === 'chmod') {
    try { fs.chmodSync(o.dest, o.perms); } catch (e) { die("Can't chmod " + '0' + o.perms.toString(8) + ' ' + o.dest, e); }
  }
}
`;

/** Runs the setup in a sandbox built from the same options; returns bubblewrap's error message, or undefined when all went well. */
export function runSetup(ops: SetupOp[], options: SpawnSyncOptions): string | undefined {
  const { spawnSync } = require('../sync') as typeof import('../sync');
  const r = spawnSync(process.execPath, ['-e', SCRIPT, JSON.stringify(ops)], {
    ...options,
    argv0: undefined,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    env: { PATH: '/usr/bin:/bin' },
  });
  if (r.error) return (r.error as Error).message;
  if (r.status === 0) return undefined;
  const err = String(r.stderr ?? '').trim();
  return err.replace(/^bwrap: /, '') || `the set-up of --dir/--symlink/--file/--chmod failed (exit ${r.status ?? r.signal})`;
}
