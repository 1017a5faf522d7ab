// Attack class: path escapes. From inside a writable root, reach a place
// outside it by name (.., symlinks, /proc/self/root, /proc/PID/cwd, fds of
// directories) and write there. Each attack must fail with the exact errno and
// leave the host tree and mount table unchanged.
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userLabel } from '../helpers';
import { Fixture, fixture, j, py } from './lib';

describe(`path escapes (as ${userLabel})`, () => {
  let f: Fixture;
  let before: unknown;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => f.cleanup());
  const attack = async (body: string) => {
    before = f.state();
    const out = await py(body, f.sandbox, { cwd: f.repo });
    expect(f.state()).toEqual(before);
    return out;
  };
  const write = (p: string) => `attempt(lambda: open(${j(p)}, 'w').write('pwned'))`;

  it('.. from a root into the shared ancestor: create a file (EACCES, Landlock)', async () => {
    expect(await attack(`out['r'] = ${write(path.join(f.repo, '..', 'evil'))}`)).toEqual({ r: 'EACCES' });
  });

  it('.. from a root onto a sealed sibling file: overwrite (EROFS)', async () => {
    expect(await attack(`out['r'] = ${write(path.join(f.repo, '..', 'sibling'))}`)).toEqual({ r: 'EROFS' });
  });

  it('relative ../../.. from the cwd (a root) into another tree (EROFS)', async () => {
    const rel = path.relative(f.repo, path.join(f.O, 'secret'));
    expect(rel.startsWith('..')).toBe(true);
    expect(await attack(`out['r'] = ${write(rel)}`)).toEqual({ r: 'EROFS' });
  });

  it('a symlink in a root pointing at a file outside: write through it (EROFS)', async () => {
    expect(
      await attack(`
os.symlink(${j(path.join(f.O, 'secret'))}, 'link')
out['r'] = ${write(path.join(f.repo, 'link'))}
os.unlink('link')`),
    ).toEqual({ r: 'EROFS' });
  });

  it('a symlink in a root pointing at a directory outside: create a file through it (EROFS)', async () => {
    expect(
      await attack(`
os.symlink(${j(f.O)}, 'dirlink')
out['r'] = ${write(path.join(f.repo, 'dirlink', 'new'))}
os.unlink('dirlink')`),
    ).toEqual({ r: 'EROFS' });
  });

  it('a symlink in a root pointing into the shared ancestor: create a file (EACCES)', async () => {
    expect(
      await attack(`
os.symlink('../.cache', 'up')
out['r'] = ${write(path.join(f.repo, 'up', 'new'))}
os.unlink('up')`),
    ).toEqual({ r: 'EACCES' });
  });

  it('a dangling symlink in a root whose target is outside: O_CREAT through it (EACCES)', async () => {
    expect(
      await attack(`
os.symlink(${j(path.join(f.H, 'created-through-link'))}, 'dangling')
out['r'] = attempt(lambda: os.open('dangling', os.O_WRONLY | os.O_CREAT, 0o644))
os.unlink('dangling')`),
    ).toEqual({ r: 'EACCES' });
  });

  it('/proc/self/root/<outside path>: write (EROFS) and create in the ancestor (EACCES)', async () => {
    expect(
      await attack(`
out['file'] = ${write(`/proc/self/root${path.join(f.O, 'secret')}`)}
out['create'] = ${write(`/proc/self/root${path.join(f.H, 'evil')}`)}`),
    ).toEqual({ file: 'EROFS', create: 'EACCES' });
  });

  it('/proc/1/root and /proc/1/cwd of the sandbox init: not reachable (EACCES)', async () => {
    expect(
      await attack(`
out['root'] = attempt(lambda: os.listdir('/proc/1/root'))
out['cwd'] = attempt(lambda: os.listdir('/proc/1/cwd'))
out['write'] = ${write(`/proc/1/root${path.join(f.O, 'secret')}`)}`),
    ).toEqual({ root: 'EACCES', cwd: 'EACCES', write: 'EACCES' });
  });

  it('/proc/PID/cwd and /proc/PID/root of a host process: the pid does not exist inside (ENOENT)', async () => {
    const host = process.pid; // this test runner, cwd = the repository
    expect(fs.existsSync(`/proc/${host}/cwd`)).toBe(true);
    expect(
      await attack(`
out['cwd'] = attempt(lambda: os.listdir('/proc/${host}/cwd'))
out['root'] = ${write(`/proc/${host}/root${path.join(f.O, 'secret')}`)}
out['environ'] = attempt(lambda: open('/proc/${host}/environ').read())`),
    ).toEqual({ cwd: 'ENOENT', root: 'ENOENT', environ: 'ENOENT' });
  });

  it('an O_PATH fd of a directory outside: openat(fd, name, O_CREAT) and via /proc/self/fd (EROFS)', async () => {
    expect(
      await attack(`
fd = os.open(${j(f.O)}, os.O_PATH | os.O_DIRECTORY)
out['openat'] = attempt(lambda: os.open('new', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
out['procfd'] = attempt(lambda: open('/proc/self/fd/%d/new' % fd, 'w'))`),
    ).toEqual({ openat: 'EROFS', procfd: 'EROFS' });
  });

  it('chdir above / stays at /: the sandbox root is the host root, still read-only (EROFS)', async () => {
    expect(
      await attack(`
os.chdir('/')
for _ in range(5): os.chdir('..')
out['cwd'] = os.getcwd()
out['r'] = ${write('tmp-escape-marker')}`),
    ).toEqual({ cwd: '/', r: 'EROFS' });
  });
});
