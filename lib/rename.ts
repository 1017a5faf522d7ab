// renameNoReplace: an atomic, no-clobber move for tools that publish into a
// shared cache or store (the pattern uv and pnpm use). It never replaces an
// existing destination, even when it has to fall back to link or copy.
import fs from 'fs';
import path from 'path';
import { native } from './native';
import { errnoName } from './errors';

const RENAME_NOREPLACE = 1;
const EEXIST = 17,
  EXDEV = 18,
  EINVAL = 22,
  ENOSYS = 38,
  ENOTSUP = 95;

function errnoError(errno: number, syscall: string, src: string, dst: string): NodeJS.ErrnoException {
  const code = errnoName(errno);
  const e = new Error(`${code}: ${syscall} '${src}' -> '${dst}'`) as NodeJS.ErrnoException & { dest: string };
  e.errno = -errno;
  e.code = code;
  e.syscall = syscall;
  e.path = src;
  e.dest = dst;
  return e;
}

function tryRename(src: string, dst: string): number {
  return native().binding.renameat2(src, dst, RENAME_NOREPLACE);
}

/** lstat-based: a dangling symlink at `p` exists too. */
function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** rm -rf that also gets through directories without write or search permission (0555 and the like). */
function removeTree(p: string): void {
  try {
    fs.rmSync(p, { recursive: true, force: true });
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw e;
  }
  const openUp = (d: string) => {
    if (!fs.lstatSync(d).isDirectory()) return;
    fs.chmodSync(d, 0o700);
    for (const name of fs.readdirSync(d)) openUp(path.join(d, name));
  };
  openUp(p);
  fs.rmSync(p, { recursive: true, force: true });
}

/** True when `dst` would lie inside the directory `src` (rename's EINVAL case). */
function isInside(dst: string, src: string): boolean {
  let parent: string;
  try {
    parent = fs.realpathSync(path.dirname(dst));
  } catch {
    return false;
  }
  const dir = fs.realpathSync(src);
  return parent === dir || parent.startsWith(dir + path.sep);
}

/** Owner (when root), mode and times of `st` onto `dst`; chown first, as it clears set-id bits. */
function copyMeta(dst: string, st: fs.Stats): void {
  if (process.geteuid?.() === 0) fs.lchownSync(dst, st.uid, st.gid);
  if (!st.isSymbolicLink()) fs.chmodSync(dst, st.mode & 0o7777);
  fs.lutimesSync(dst, st.atimeMs / 1000, st.mtimeMs / 1000);
}

function copyTree(src: string, dst: string): void {
  const st = fs.lstatSync(src);
  if (st.isDirectory()) {
    // Owner-writable while we fill it (src may be 0555); the real mode is set
    // afterwards, so the umask and mkdir's dropping of set-id bits don't apply.
    fs.mkdirSync(dst, { mode: 0o700 });
    for (const name of fs.readdirSync(src)) copyTree(path.join(src, name), path.join(dst, name));
    fsyncPath(dst);
  } else if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(src), dst);
  } else if (st.isFile()) {
    fs.copyFileSync(src, dst, fs.constants.COPYFILE_EXCL);
    fsyncPath(dst);
  } else {
    // FIFO, socket or device: opening a FIFO blocks forever and a device
    // would be read out, so refuse rather than copy.
    throw errnoError(ENOTSUP, 'copy', src, dst);
  }
  copyMeta(dst, st);
}

/** Publishes `tmp` (ours, beside dst) at `dst` without replacing anything there. */
function publish(tmp: string, dst: string, isDir: boolean): void {
  const err = tryRename(tmp, dst);
  if (err === 0) return;
  if (err !== EINVAL && err !== ENOSYS) throw errnoError(err, 'rename', tmp, dst);
  if (isDir) {
    fs.mkdirSync(dst); // atomic claim: EEXIST if someone else has dst
    try {
      fs.renameSync(tmp, dst); // replaces only our own empty claim
    } catch (e) {
      try {
        fs.rmdirSync(dst);
      } catch {
        /* someone wrote into our claim */
      }
      throw e;
    }
  } else {
    fs.linkSync(tmp, dst); // EEXIST if dst exists
    fs.unlinkSync(tmp);
  }
}

/**
 * Moves `src` to `dst` atomically; fails with EEXIST when `dst` exists.
 * Uses renameat2(RENAME_NOREPLACE); on EXDEV, EINVAL or ENOSYS it falls back
 * to link + unlink (same filesystem) or to a copy beside `dst` that is fsynced
 * and then moved into place without clobbering, after which `src` is removed.
 * The copy keeps modes and times (and owners, when root); it refuses FIFOs,
 * sockets and devices with ENOTSUP. Moving a directory into itself is EINVAL.
 */
export function renameNoReplaceSync(src: string, dst: string): void {
  const err = tryRename(src, dst);
  if (err === 0) return;
  if (err !== EXDEV && err !== EINVAL && err !== ENOSYS) throw errnoError(err, 'rename', src, dst);
  const st = fs.lstatSync(src);
  // EINVAL is also the kernel's answer to moving a directory into itself;
  // copying would then recurse into its own copy.
  if (err === EINVAL && st.isDirectory() && isInside(dst, src)) throw errnoError(EINVAL, 'rename', src, dst);
  if (err !== EXDEV && !st.isDirectory()) {
    try {
      fs.linkSync(src, dst);
      fs.unlinkSync(src);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw e;
    }
  }
  if (exists(dst)) throw errnoError(EEXIST, 'rename', src, dst);
  const tmp = path.join(
    path.dirname(dst),
    `.${path.basename(dst)}.sbx-${process.pid}-${(require('crypto') as typeof import('crypto')).randomBytes(6).toString('hex')}`,
  );
  try {
    copyTree(src, tmp);
    publish(tmp, dst, st.isDirectory());
  } catch (e) {
    try {
      removeTree(tmp);
    } catch {
      /* report the copy's error, not the cleanup's */
    }
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw errnoError(EEXIST, 'rename', src, dst);
    throw e;
  }
  // dst must be durable before the only other copy goes away (best effort:
  // a parent we may write but not read can't be opened for fsync).
  try {
    fsyncPath(path.dirname(dst));
  } catch {
    /* EACCES */
  }
  removeTree(src);
}

/** Promise form of renameNoReplaceSync. */
export async function renameNoReplace(src: string, dst: string): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  renameNoReplaceSync(src, dst);
}
