// Attack class: hard links and renames into a writable root from read-only
// places (another mount, a sealed sibling, the shared ancestor, /etc), so the
// file could then be written through the root; and moving protected things
// (the roots themselves, the chain directories) away.
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userLabel } from '../helpers';
import { attacker, Fixture, fixture, j } from './lib';

describe(`links and renames into roots (as ${userLabel})`, () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => f.cleanup());
  const attack = attacker(() => f);
  const inRepo = (n: string) => j(path.join(f.repo, n));

  it('hard link of a file in another tree into a root (EXDEV)', async () => {
    expect(await attack(`out['r'] = attempt(lambda: os.link(${j(path.join(f.O, 'secret'))}, ${inRepo('s')}))`)).toEqual({ r: 'EXDEV' });
  });

  it('hard link of /etc/passwd into a root (EXDEV)', async () => {
    expect(await attack(`out['r'] = attempt(lambda: os.link('/etc/passwd', ${inRepo('passwd')}))`)).toEqual({ r: 'EXDEV' });
  });

  it('hard link of a sealed sibling in the shared ancestor into a root (EXDEV)', async () => {
    expect(await attack(`out['r'] = attempt(lambda: os.link(${j(path.join(f.H, 'sibling'))}, ${inRepo('s')}))`)).toEqual({ r: 'EXDEV' });
  });

  it('hard link through /proc/self/fd of an O_PATH fd (linkat AT_SYMLINK_FOLLOW) into a root (EXDEV)', async () => {
    expect(
      await attack(`
fd = os.open(${j(path.join(f.O, 'secret'))}, os.O_PATH)
out['r'] = attempt(lambda: os.link('/proc/self/fd/%d' % fd, ${inRepo('s')}, follow_symlinks=True))`),
    ).toEqual({ r: 'EXDEV' });
  });

  it('linkat(AT_EMPTY_PATH) of an fd opened outside into a root (EXDEV)', async () => {
    expect(
      await attack(`
AT_EMPTY_PATH = 0x1000
fd = os.open(${j(path.join(f.O, 'secret'))}, os.O_RDONLY)
out['r'] = sc(265 if NR['ioctl'] == 16 else 37, fd, ctypes.c_char_p(b''), -100, ctypes.c_char_p(${inRepo('s')}.encode()), AT_EMPTY_PATH)`),
    ).toEqual({ r: 'EXDEV' });
  });

  it('rename of a file from another tree into a root (EXDEV)', async () => {
    expect(await attack(`out['r'] = attempt(lambda: os.rename(${j(path.join(f.O, 'secret'))}, ${inRepo('s')}))`)).toEqual({ r: 'EXDEV' });
  });

  it('rename of a sealed sibling into a root (EACCES: no REMOVE_FILE in the ancestor)', async () => {
    expect(await attack(`out['r'] = attempt(lambda: os.rename(${j(path.join(f.H, 'sibling'))}, ${inRepo('s')}))`)).toEqual({ r: 'EACCES' });
  });

  it('rename of the chain directory .cache (holding the other root) into a root (EACCES)', async () => {
    expect(await attack(`out['r'] = attempt(lambda: os.rename(${j(path.join(f.H, '.cache'))}, ${inRepo('stolen')}))`)).toEqual({
      r: 'EACCES',
    });
  });

  it('rename of a root away, and of the other root into this one (EACCES)', async () => {
    expect(
      await attack(`
out['away'] = attempt(lambda: os.rename(${j(f.repo)}, ${j(path.join(f.H, 'moved'))}))
out['into'] = attempt(lambda: os.rename(${j(f.cache)}, ${inRepo('cache')}))`),
    ).toEqual({ away: 'EACCES', into: 'EACCES' });
  });

  it('renameat2(RENAME_EXCHANGE) of a root file with a sealed sibling (EACCES) and with a file in another tree (EXDEV)', async () => {
    expect(
      await attack(`
def exchange(a, b):
    return sc(316 if NR['ioctl'] == 16 else 276, -100, ctypes.c_char_p(a.encode()), -100, ctypes.c_char_p(b.encode()), 2)
out['sibling'] = exchange(${inRepo('mine')}, ${j(path.join(f.H, 'sibling'))})
out['other'] = exchange(${inRepo('mine')}, ${j(path.join(f.O, 'secret'))})`),
    ).toEqual({ sibling: 'EACCES', other: 'EXDEV' });
  });

  it('replacing a sealed sibling by renaming a root file over it (EACCES)', async () => {
    expect(await attack(`out['r'] = attempt(lambda: os.rename(${inRepo('mine')}, ${j(path.join(f.H, 'sibling'))}))`)).toEqual({
      r: 'EACCES',
    });
  });

  it('unlink and rmdir of sealed entries in the shared ancestor (EACCES)', async () => {
    expect(
      await attack(`
out['unlink'] = attempt(lambda: os.unlink(${j(path.join(f.H, 'sibling'))}))
out['rmdir'] = attempt(lambda: os.rmdir(${j(path.join(f.H, 'sibdir'))}))`),
    ).toEqual({ unlink: 'EACCES', rmdir: 'EACCES' });
  });
});
