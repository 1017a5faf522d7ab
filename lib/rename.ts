// renameNoReplace: an atomic, no-clobber move for tools that publish into a
// shared cache or store (the pattern uv and pnpm use). It never replaces an
// existing destination, even when it has to fall back to link or copy.
import crypto from 'crypto';
import fs from 'fs';
import path from 'path';
import { native } from './native';
import { errnoName } from './errors';

const RENAME_NOREPLACE = 1;

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

function copyTree(src: string, dst: string): void {
  const st = fs.lstatSync(src);
  if (st.isDirectory()) {
    fs.mkdirSync(dst, { mode: st.mode & 0o7777 });
    for (const name of fs.readdirSync(src)) copyTree(path.join(src, name), path.join(dst, name));
  } else if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(src), dst);
  } else {
    fs.copyFileSync(src, dst, fs.constants.COPYFILE_EXCL);
    const fd = fs.openSync(dst, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
    fs.chmodSync(dst, st.mode & 0o7777);
  }
}

/** Publishes `tmp` (ours, beside dst) at `dst` without replacing anything there. */
function publish(tmp: string, dst: string, isDir: boolean): void {
  const err = tryRename(tmp, dst);
  if (err === 0) return;
  if (err !== 22 && err !== 38) throw errnoError(err, 'rename', tmp, dst); // not EINVAL/ENOSYS
  if (isDir) {
    fs.mkdirSync(dst); // atomic claim: EEXIST if someone else has dst
    fs.renameSync(tmp, dst); // replaces only our own empty claim
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
 */
export function renameNoReplaceSync(src: string, dst: string): void {
  const err = tryRename(src, dst);
  if (err === 0) return;
  if (err !== 18 && err !== 22 && err !== 38) throw errnoError(err, 'rename', src, dst); // EXDEV, EINVAL, ENOSYS
  const st = fs.lstatSync(src);
  if (err !== 18 && !st.isDirectory()) {
    try {
      fs.linkSync(src, dst);
      fs.unlinkSync(src);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw e;
    }
  }
  if (fs.existsSync(dst)) throw errnoError(17, 'rename', src, dst);
  const tmp = path.join(path.dirname(dst), `.${path.basename(dst)}.sbx-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
  try {
    copyTree(src, tmp);
    publish(tmp, dst, st.isDirectory());
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  fs.rmSync(src, { recursive: true, force: true });
}

/** Promise form of renameNoReplaceSync. */
export async function renameNoReplace(src: string, dst: string): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  renameNoReplaceSync(src, dst);
}
