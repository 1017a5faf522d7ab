// bubblewrap's filesystem operations, in order, -> sbx-native rules, guards and
// set-up steps (lib/bwrap/policy.ts maps the rest of the argv). A later mount
// covers what an earlier one put at or below its destination; how the host
// looks is read through a HostView.
import fs from 'fs';
import path from 'path';
import type { Access, Guard } from '../policy';
import type { Scratch } from '../scratch';
import type { View } from '../views';
import { DataFile, MAX_DATA_BYTES } from '../data-files';
import { realOrUndefined, realView } from '../fsview';
import type { FreshNode } from '../fresh-nodes';
import type { MovedRoot } from '../moved-roots';
import { BwrapError, unsupported } from './values';
import type { FsOp } from './argv-types';
import type { SetupOp } from './setup';

export type Kind = 'dir' | 'file' | 'socket' | 'other' | 'symlink';

/** What the mapping reads of the host: the type of a path (not following a final symlink unless `follow`), a directory's entries, a symlink. */
export interface HostView {
  kind(p: string, follow: boolean): Kind | undefined;
  readdir(p: string): string[];
  /** A directory's entries and which are symlinks (the types readdir(3) gives, so no lstat of each). */
  entries(p: string): { name: string; symlink: boolean }[];
  readlink(p: string): string;
  realpath(p: string): string | undefined;
  /** The path an open fd names, checked to be the same inode; throws when the fd is not open. */
  fdPath(fd: number): string;
}

export const realHost: HostView = {
  kind(p, follow) {
    const st = follow ? fs.statSync(p, { throwIfNoEntry: false }) : fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) return undefined;
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSocket() ? 'socket' : 'other';
  },
  readdir: (p) => fs.readdirSync(p),
  // Node lstats an entry itself where the file system gives no type (DT_UNKNOWN).
  entries: (p) => fs.readdirSync(p, { withFileTypes: true }).map((d) => ({ name: d.name, symlink: d.isSymbolicLink() })),
  readlink: (p) => fs.readlinkSync(p),
  // realView's: one realpath(3) instead of fs.realpathSync's lstat of every component in JS.
  realpath: (p) => realOrUndefined(realView, p),
  fdPath(fd) {
    const st = fs.fstatSync(fd, { bigint: true });
    const p = fs.readlinkSync(`/proc/self/fd/${fd}`);
    const again = fs.statSync(p, { bigint: true, throwIfNoEntry: false });
    if (!path.isAbsolute(p) || !again || again.dev !== st.dev || again.ino !== st.ino)
      throw Object.assign(new Error(`fd ${fd} (${p}) no longer names the same file`), { code: 'ESTALE' });
    return p;
  },
};

export interface FsMapping {
  setup: SetupOp[];
  rules: Record<string, Access>;
  guards: Guard[];
  sockets: string[];
  privateTmp: boolean;
  /** Writable --tmpfs directories (lib/scratch.ts). */
  scratch: Scratch[];
  /** --ro-bind SRC DEST of different paths (lib/views.ts). */
  views: View[];
  /** --lock-file: paths init holds a read lock on while the sandbox runs, as the sandbox sees them. */
  lockFiles: string[];
  /** --bind-data, and --ro-bind-data with data (lib/data-files.ts). */
  dataFiles: DataFile[];
  /** --dir, --file, --symlink inside a fresh tmpfs: made by the helper there (lib/fresh-nodes.ts). */
  freshNodes: FreshNode[];
  /** --bind SRC DEST of different paths: writable roots of their own (lib/moved-roots.ts). */
  movedRoots: MovedRoot[];
}

function under(p: string, dir: string): boolean {
  return dir === '/' ? p.startsWith('/') : p === dir || p.startsWith(`${dir}/`);
}

export function mapFilesystem(ops: FsOp[], host: HostView, notes: string[]): FsMapping {
  const rules: Record<string, Access> = {};
  const guards: Guard[] = [];
  const sockets: string[] = [];
  const setup: SetupOp[] = [];
  // The option each setup op came from: a --tmpfs after it over the same place hides what it made.
  const setupIndex = new Map<SetupOp, number>();
  const at = (length: number, index: number) => setupIndex.set(setup[length - 1], index);
  const tmpfsAt: { real: string; index: number }[] = [];
  const scratch: Scratch[] = [];
  const views: (View & { index: number })[] = [];
  const dataFiles: DataFile[] = [];
  const lockFiles: string[] = [];
  const moved: (MovedRoot & { index: number; opt: string })[] = [];
  let privateTmp = false;
  let root: 'ro' | 'rw' | 'empty' = 'empty';
  let dev = false;
  let proc = false;
  const abs = (p: string, opt: string) => {
    if (!path.isAbsolute(p)) throw unsupported(`${opt} ${p}`, 'destinations must be absolute paths');
    return path.normalize(p);
  };
  // A later mount covers whatever earlier ones put at or below it.
  const cover = (dest: string) => {
    for (const k of Object.keys(rules)) if (under(k, dest)) delete rules[k];
    for (let i = guards.length - 1; i >= 0; i--) if (under(guards[i].path, dest)) guards.splice(i, 1);
    for (let i = scratch.length - 1; i >= 0; i--) if (under(scratch[i].path, dest)) scratch.splice(i, 1);
    for (let i = views.length - 1; i >= 0; i--) if (under(views[i].dest, dest)) views.splice(i, 1);
    for (let i = dataFiles.length - 1; i >= 0; i--) if (under(dataFiles[i].path, dest)) dataFiles.splice(i, 1);
    for (let i = moved.length - 1; i >= 0; i--) if (under(moved[i].dest, dest)) moved.splice(i, 1);
    if (dest === '/tmp' || dest === '/') privateTmp = false;
  };
  // Inside a fresh tmpfs the host's entries are not there.
  const inFresh = (p: string) => (privateTmp && under(p, '/tmp')) || scratch.some((sc) => under(p, sc.path));
  const missingDest = (dest: string, opt: string) => {
    // bubblewrap would make it as a mount point on the host (when writable): sbx-native leaves no litter.
    guards.push({ path: dest, why: `bwrap ${opt} onto a missing path (a refused name)` });
  };
  ops.forEach((op, index) => {
    switch (op.op) {
      case 'bind':
      case 'ro-bind':
      case 'dev-bind': {
        const opt = `--${op.op}${op.try ? '-try' : ''}`;
        const dest = abs(op.dest, opt);
        const src = host.realpath(op.src);
        if (src === undefined) {
          if (op.try) return;
          throw new BwrapError(`Can't find source path ${op.src}: No such file or directory`);
        }
        const writable = op.op !== 'ro-bind';
        if (dest === '/') {
          if (src !== '/') throw unsupported(`${opt} ${op.src} /`, 'only / can be bound onto /');
          cover('/');
          root = writable ? 'rw' : 'ro';
          if (op.op === 'dev-bind') notes.push("--dev-bind / /: the host's devices are not reachable; /dev is sbx-native's minimal one");
          if (writable) rules['/'] = 'write';
          return;
        }
        const destReal = host.realpath(dest);
        const srcKind = host.kind(src, true);
        const identity = destReal === src;
        if (op.op === 'dev-bind' && (dest === '/dev' || under(dest, '/dev'))) {
          if (identity && dest === '/dev') {
            dev = true;
            notes.push("--dev-bind /dev /dev: sbx-native's minimal /dev instead of the host's");
            return;
          }
          throw unsupported(`${opt} ${op.src} ${op.dest}`, "device nodes are not bound in; /dev is sbx-native's minimal one");
        }
        // A writable root in /dev/shm is placed in the sandbox's own /dev (docs/policy.md); a later --dev
        // would cover it in bubblewrap.
        const shmRoot = identity && writable && srcKind === 'dir' && under(src, '/dev/shm');
        const devLater = ops.slice(index + 1).some((o) => o.op === 'dev');
        if ((under(dest, '/proc') || under(dest, '/dev')) && (!shmRoot || devLater)) {
          throw unsupported(
            `${opt} ${op.src} ${op.dest}`,
            shmRoot
              ? 'a later --dev would cover it, and the sandbox places writable roots in /dev/shm after its /dev'
              : 'the sandbox has its own /proc and a minimal /dev (only writable binds of a directory in /dev/shm onto itself go there)',
          );
        }
        if (identity) {
          cover(destReal);
          if (srcKind === 'socket') {
            sockets.push(destReal);
            return;
          }
          if (writable && srcKind !== 'dir')
            throw unsupported(`${opt} ${op.src} ${op.dest}`, 'a writable bind of a file: writable roots are directories');
          rules[destReal] = writable ? 'write' : 'read';
          if (op.op === 'dev-bind') notes.push(`${opt} ${op.dest}: device nodes there stay unusable (nodev)`);
          return;
        }
        // A bind of an empty thing onto a path: bubblewrap's masks (/dev/null onto a file, an empty directory onto one).
        const empty = src === '/dev/null' || (srcKind === 'dir' && host.readdir(src).length === 0);
        if (!writable && empty) {
          const dk = host.kind(dest, true);
          cover(destReal ?? dest);
          if (dk === undefined) return missingDest(dest, `${opt} ${op.src}`);
          if ((src === '/dev/null') !== (dk !== 'dir')) {
            throw new BwrapError(`Can't bind mount ${op.src} on ${op.dest}: ${dk === 'dir' ? 'Not a directory' : 'Is a directory'}`);
          }
          rules[destReal!] = 'none';
          return;
        }
        if (writable) {
          // A writable root of its own at DEST showing the host's SRC (lib/moved-roots.ts).
          if (srcKind !== 'dir')
            throw unsupported(`${opt} ${op.src} ${op.dest}`, 'a writable bind of a file: writable roots are directories');
          if (destReal === undefined) {
            // bubblewrap makes DEST: it fails where the sandbox is read-only, and would leave it on the host elsewhere.
            if (!inFresh(dest) && visible(rules, dest) && !inWritable(rules, dest))
              throw new BwrapError(`Can't mkdir ${op.dest}: Read-only file system`);
            throw unsupported(`${opt} ${op.src} ${op.dest}`, `${op.dest} does not exist, and sbx-native makes no mount points on the host`);
          }
          if (host.kind(destReal, true) !== 'dir') throw new BwrapError(`Can't mkdir ${op.dest}: File exists`);
          if (inFresh(destReal) || !visible(rules, destReal))
            throw unsupported(
              `${opt} ${op.src} ${op.dest}`,
              `${op.dest} is inside a hidden place or a --tmpfs, where it has no mount point`,
            );
          cover(destReal);
          rules[destReal] = 'write';
          moved.push({ src, dest: destReal, index, opt });
          notes.push(
            `${opt} ${op.src} ${op.dest}: a writable root of its own at DEST (links and renames to other roots: EXDEV, as bubblewrap), with exec's protections at DEST`,
          );
          if (op.op === 'dev-bind') notes.push(`${opt} ${op.src} ${op.dest}: device nodes there stay unusable (nodev)`);
          return;
        }
        // A read-only view of what the sandbox shows at SRC, mounted at DEST once the layout is in place.
        if (destReal === undefined)
          throw unsupported(`${opt} ${op.src} ${op.dest}`, `${op.dest} does not exist, and sbx-native makes no mount points on the host`);
        const dk = host.kind(destReal, true);
        if ((srcKind === 'dir') !== (dk === 'dir'))
          throw new BwrapError(`Can't bind mount ${op.src} on ${op.dest}: ${dk === 'dir' ? 'Is a directory' : 'Not a directory'}`);
        if (inFresh(destReal) || !visible(rules, destReal))
          throw unsupported(`${opt} ${op.src} ${op.dest}`, `${op.dest} is inside a hidden place or a --tmpfs, where it has no mount point`);
        cover(destReal);
        views.push({ src, dest: destReal, index });
        return;
      }
      case 'tmpfs': {
        const dest = abs(op.dest, '--tmpfs');
        const real = host.realpath(dest);
        cover(real ?? dest);
        tmpfsAt.push({ real: real ?? dest, index });
        if (dest === '/') {
          root = 'empty';
          return;
        }
        const readOnly = remountedLater(ops, index, dest);
        // A plain --tmpfs /tmp is sbx-native's private /tmp (mode 1777, TMPDIR pointed there); with --perms or --size it is scratch like any other.
        if (real === '/tmp' && !readOnly && op.perms === undefined && op.size === undefined) {
          privateTmp = true;
          notes.push("--tmpfs /tmp: sbx-native's private /tmp, mode 1777 (bubblewrap's: 0755 unless --perms)");
          return;
        }
        if (real === undefined) return missingDest(dest, '--tmpfs');
        if (host.kind(real, true) !== 'dir') throw new BwrapError(`Can't mkdir ${op.dest}: File exists`);
        if (readOnly) {
          // Empty and read-only for good: a mask (what --perms/--size would shape cannot be written to anyway).
          rules[real] = 'none';
          return;
        }
        // bubblewrap's tmpfs: empty, writable, gone with the sandbox (mode 0755 unless --perms).
        scratch.push({ path: real, mode: op.perms ?? 0o755, ...(op.size !== undefined ? { size: op.size } : {}) });
        return;
      }
      case 'remount-ro': {
        const dest = abs(op.dest, '--remount-ro');
        const real = host.realpath(dest) ?? dest;
        const m = moved.findIndex((x) => x.dest === real);
        if (m >= 0) {
          // A read-only bind of another path after all: a view (what the sandbox shows at SRC, read-only).
          delete rules[real];
          views.push({ src: moved[m].src, dest: real, index: moved[m].index });
          moved.splice(m, 1);
          return;
        }
        if (rules[real] === 'write') {
          rules[real] = 'read';
          return;
        }
        if (rules[real] === 'none' || rules[real] === 'read' || guards.some((g) => g.path === dest)) return;
        if (scratch.some((sc) => under(real, sc.path)))
          throw unsupported(`--remount-ro ${op.dest}`, 'a path inside a writable --tmpfs is not a mount point of its own');
        if (real === '/' && root === 'rw') {
          delete rules['/'];
          root = 'ro';
          return;
        }
        if (real === '/' || !inWritable(rules, real)) return; // read-only already
        throw unsupported(`--remount-ro ${op.dest}`, 'not a mount point made by an earlier option');
      }
      case 'dev':
        if (abs(op.dest, '--dev') !== '/dev') throw unsupported(`--dev ${op.dest}`, 'the minimal /dev is always at /dev');
        dev = true;
        return;
      case 'proc':
        if (abs(op.dest, '--proc') !== '/proc') throw unsupported(`--proc ${op.dest}`, "the sandbox's /proc is always at /proc");
        proc = true;
        return;
      case 'file': {
        const dest = abs(op.dest, '--file');
        if (root === 'empty')
          throw unsupported(`--file ${op.fd} ${op.dest}`, 'files are made in a writable root only, not in an empty root');
        at(setup.push({ op: 'file', dest, perms: op.perms, data: op.data.toString('base64') }), index);
        return;
      }
      case 'ro-bind-data':
      case 'bind-data': {
        const opt = `--${op.op}`;
        const dest = abs(op.dest, opt);
        const real = host.realpath(dest);
        // Empty read-only data is a mask, except in a fresh tmpfs, where the helper makes a file (bubblewrap's, of mode 0600).
        const empty = op.op === 'ro-bind-data' && op.data.length === 0 && !inFresh(dest);
        if (real !== undefined && !inFresh(dest) && host.kind(real, true) === 'dir')
          throw new BwrapError(`Can't create file at ${op.dest}: Is a directory`);
        if (empty) {
          // Nothing to carry: an empty read-only mask, or a refused name where nothing is.
          cover(real ?? dest);
          if (real === undefined) return missingDest(dest, opt);
          rules[real] = 'none';
          return;
        }
        // A private file of the data (lib/data-files.ts). bubblewrap makes DEST on the host when missing; sbx-native binds
        // over an existing one, or makes its mount point inside a fresh tmpfs (nothing on the host there).
        const fresh = inFresh(dest);
        if (real === undefined && !fresh)
          throw unsupported(
            `${opt} ${op.fd} ${op.dest}`,
            `${op.dest} does not exist: DEST must exist, since sbx-native makes no files on the host`,
          );
        if (op.data.length > MAX_DATA_BYTES)
          throw unsupported(`${opt} ${op.fd} ${op.dest}`, `more than ${MAX_DATA_BYTES} bytes of data (the data travels in the plan)`);
        const at = fresh ? dest : real!;
        cover(at);
        dataFiles.push({ path: at, data: op.data.toString('hex'), mode: op.perms ?? 0o600, writable: op.op === 'bind-data' });
        return;
      }
      case 'dir': {
        const dest = abs(op.dest, '--dir');
        if (!inFresh(dest) && host.kind(dest, true) === 'dir') return; // bubblewrap keeps an existing directory as it is
        if (root === 'empty') throw unsupported(`--dir ${op.dest}`, 'directories are made in a writable root only, not in an empty root');
        at(setup.push({ op: 'dir', dest, perms: op.perms }), index);
        return;
      }
      case 'symlink': {
        const dest = abs(op.dest, '--symlink');
        if (!inFresh(dest) && host.kind(dest, false) === 'symlink') {
          const existing = host.readlink(dest);
          if (existing === op.target) return; // as bubblewrap: the same link already there
          throw new BwrapError(`Can't make symlink at ${op.dest}: existing destination is ${existing}`);
        }
        if (root === 'empty')
          throw unsupported(`--symlink ${op.target} ${op.dest}`, 'symlinks are made in a writable root only, not in an empty root');
        at(setup.push({ op: 'symlink', target: op.target, dest }), index);
        return;
      }
      case 'chmod':
        at(setup.push({ op: 'chmod', dest: abs(op.dest, '--chmod'), perms: op.perms }), index);
        return;
      case 'bind-fd':
      case 'ro-bind-fd':
        throw unsupported(`--${op.op} ${op.fd} ${op.dest}`, 'binds from fds are not supported yet');
      case 'mqueue':
        throw unsupported(`--mqueue ${op.dest}`, 'no mqueue mounts');
      case 'lock-file':
        lockFiles.push(abs(op.dest, '--lock-file'));
        return;
      case 'overlay-src':
      case 'overlay':
      case 'tmp-overlay':
      case 'ro-overlay':
        throw unsupported(`--${op.op}`, 'no overlay mounts');
    }
  });
  if (root === 'empty') emptyRoot(rules, host, notes);
  if (!dev) notes.push("/dev is sbx-native's minimal one even without --dev");
  if (!proc) notes.push('/proc is a fresh procfs even without --proc');
  // A private /tmp and a writable --tmpfs are new in every sandbox: what the set-up run made there the command would not see.
  const fresh = [...(privateTmp ? ['/tmp'] : []), ...scratch.map((sc) => sc.path)];
  const freshNodes: FreshNode[] = [];
  for (const o of [...setup]) {
    const where = fresh.find((d) => under(o.dest, d) || (o.op !== 'chmod' && o.dest === d));
    // Inside a fresh tmpfs the helper makes it, once the tmpfs is mounted (a set-up run's tmpfs would not be the command's).
    if (where && o.dest !== where && o.op !== 'chmod') {
      setup.splice(setup.indexOf(o), 1);
      // A --tmpfs mounted over it later hides it, as bubblewrap's second tmpfs does: not made at all.
      const made = setupIndex.get(o)!;
      if (tmpfsAt.some((t) => t.index > made && under(o.dest, t.real))) continue;
      if (dataFiles.some((d) => d.path === o.dest))
        throw unsupported(`--${o.op} ${o.dest}`, `${o.dest} is a data file, made anew for the command`);
      freshNodes.push(
        o.op === 'dir'
          ? { path: o.dest, kind: 'dir', ...(o.perms !== undefined ? { mode: o.perms } : {}) }
          : o.op === 'file'
            ? { path: o.dest, kind: 'file', mode: o.perms ?? 0o666, data: Buffer.from(o.data, 'base64').toString('hex') }
            : { path: o.dest, kind: 'symlink', target: (o as { target: string }).target },
      );
      continue;
    }
    if (where) throw unsupported(`--${o.op} ${o.dest}`, `it would be made in the --tmpfs ${where}, which is made anew for the command`);
    // So is a data file: the set-up run would change its own copy.
    const real = host.realpath(o.dest) ?? o.dest;
    const data = dataFiles.find((d) => d.path === real);
    if (data) throw unsupported(`--${o.op} ${o.dest}`, `${o.dest} is a data file, made anew for the command`);
  }
  // Views are mounted after the whole layout: nothing an option after one puts inside it would be seen.
  for (const v of views) {
    if (!visible(rules, v.dest))
      throw unsupported(`--ro-bind ${v.src} ${v.dest}`, `${v.dest} is inside a hidden place, where it has no mount point`);
    const inside = ops
      .slice(v.index + 1)
      .find((o): o is Extract<FsOp, { dest: string }> => 'dest' in o && under(o.dest, v.dest) && path.normalize(o.dest) !== v.dest);
    if (inside)
      throw unsupported(
        `--${inside.op} ${inside.dest}`,
        `it lies inside the read-only view bound at ${v.dest} earlier, which sbx-native mounts after everything else`,
      );
  }
  // A moved root is planned from SRC's tree at DEST once: what an option after it puts inside it would not be there.
  for (const m of moved) {
    if (!visible(rules, path.dirname(m.dest)))
      throw unsupported(`${m.opt} ${m.src} ${m.dest}`, `${m.dest} is inside a hidden place, where it has no mount point`);
    const inside = ops
      .slice(m.index + 1)
      .find(
        (o): o is Extract<FsOp, { dest: string }> =>
          'dest' in o && under(path.normalize(o.dest), m.dest) && !(o.op === 'remount-ro' && path.normalize(o.dest) === m.dest),
      );
    if (inside)
      throw unsupported(
        `--${inside.op} ${inside.dest}`,
        `it lies inside the writable bind of ${m.src} at ${m.dest} earlier, which is not supported yet`,
      );
  }
  return {
    movedRoots: moved.map(({ src, dest }) => ({ src, dest })),
    rules,
    guards,
    sockets,
    privateTmp,
    setup,
    scratch,
    views: views.map(({ src, dest }) => ({ src, dest })),
    freshNodes,
    dataFiles,
    lockFiles,
  };
}

function remountedLater(ops: FsOp[], index: number, dest: string): boolean {
  return ops.slice(index + 1).some((o) => o.op === 'remount-ro' && path.normalize(o.dest) === path.normalize(dest));
}

/** Whether the most specific rule at or above `p` leaves it shown (a hidden directory looks empty). */
export function visible(rules: Record<string, Access>, p: string): boolean {
  let best: string | undefined;
  for (const k of Object.keys(rules)) if (under(p, k) && (best === undefined || k.length > best.length)) best = k;
  return best === undefined || rules[best] !== 'none';
}

function inWritable(rules: Record<string, Access>, p: string): boolean {
  let best: string | undefined;
  for (const k of Object.keys(rules)) if (under(p, k) && (best === undefined || k.length > best.length)) best = k;
  return best !== undefined && rules[best] === 'write';
}

/**
 * No `--ro-bind / /`: bubblewrap's root is empty but for what is bound. Each
 * top-level directory that nothing was bound at or below is hidden (looks
 * empty), and those above a bound path are hidden with the bound path shown
 * through. /dev and /proc are the sandbox's own.
 */
function emptyRoot(rules: Record<string, Access>, host: HostView, notes: string[]): void {
  const bound = Object.keys(rules);
  for (const { name, symlink } of host.entries('/')) {
    const p = `/${name}`;
    if (p === '/dev' || p === '/proc') continue;
    if (symlink) continue; // a link at the top (usrmerge's /bin) leads into a hidden or shown place
    if (bound.includes(p)) continue;
    rules[p] = 'none';
  }
  notes.push('no --ro-bind / /: top-level names that were not bound look empty instead of being absent; top-level symlinks stay');
}
