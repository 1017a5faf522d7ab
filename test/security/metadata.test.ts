// Attack class: metadata changes outside the roots. Landlock does not restrict
// chmod, chown, utimes, xattrs or inode flags (research/landlock.md section 3):
// read-only mounts must. The chain directories between the shared ancestor and
// the roots are a documented gap (docs/threat-model.md) and are not attacked
// here; everything else is.
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { userLabel } from '../helpers';
import { attacker, Fixture, fixture, j } from './lib';

describe(`metadata outside the roots (as ${userLabel})`, () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => f.cleanup());
  const attack = attacker(() => f);
  const targets = () => ({
    other: path.join(f.O, 'secret'),
    sibling: path.join(f.H, 'sibling'),
    sibdir: path.join(f.H, 'sibdir'),
    otherdir: f.O,
  });
  const each = (expr: string) =>
    Object.entries(targets())
      .map(([k, p]) => `out[${j(k)}] = attempt(lambda: ${expr.replace(/P/g, j(p))})`)
      .join('\n');

  it('chmod 0777 on a file and a directory in another tree and on sealed entries of the ancestor (EROFS)', async () => {
    expect(await attack(each('os.chmod(P, 0o777)'))).toEqual({ other: 'EROFS', sibling: 'EROFS', sibdir: 'EROFS', otherdir: 'EROFS' });
  });

  it('fchmod through an fd opened read-only (EROFS)', async () => {
    expect(await attack(each('os.fchmod(os.open(P, os.O_RDONLY), 0o777)'))).toEqual({
      other: 'EROFS',
      sibling: 'EROFS',
      sibdir: 'EROFS',
      otherdir: 'EROFS',
    });
  });

  it('chown to ourselves (EROFS before any permission check)', async () => {
    expect(await attack(each('os.chown(P, os.getuid(), os.getgid())'))).toEqual({
      other: 'EROFS',
      sibling: 'EROFS',
      sibdir: 'EROFS',
      otherdir: 'EROFS',
    });
  });

  it('utimes / touch -d on outside files (EROFS)', async () => {
    expect(await attack(each('os.utime(P, (0, 0))'))).toEqual({ other: 'EROFS', sibling: 'EROFS', sibdir: 'EROFS', otherdir: 'EROFS' });
  });

  it('setxattr and removexattr user.* (EROFS)', async () => {
    expect(
      await attack(`${each(`os.setxattr(P, 'user.sbx', b'x')`)}
out['remove'] = attempt(lambda: os.removexattr(${j(path.join(f.O, 'secret'))}, 'user.sbx'))`),
    ).toEqual({ other: 'EROFS', sibling: 'EROFS', sibdir: 'EROFS', otherdir: 'EROFS', remove: 'EROFS' });
  });

  it('truncate and O_TRUNC of outside files (EROFS)', async () => {
    expect(
      await attack(`
out['truncate'] = attempt(lambda: os.truncate(${j(path.join(f.O, 'secret'))}, 0))
out['otrunc'] = attempt(lambda: os.open(${j(path.join(f.H, 'sibling'))}, os.O_RDONLY | os.O_TRUNC))`),
    ).toEqual({ truncate: 'EROFS', otrunc: 'EROFS' });
  });

  it('FS_IOC_SETFLAGS (chattr) through a read-only fd on an outside file (EROFS)', async () => {
    expect(
      await attack(`
import fcntl
FS_IOC_SETFLAGS = 0x40086602
fd = os.open(${j(path.join(f.O, 'secret'))}, os.O_RDONLY)
out['r'] = attempt(lambda: fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack('l', 0x10)))`),
    ).toEqual({ r: 'EROFS' });
  });

  it('chmod/utimes of system files (/etc/passwd, /usr/bin) (EROFS)', async () => {
    expect(
      await attack(`
out['chmod'] = attempt(lambda: os.chmod('/etc/passwd', 0o666))
out['utime'] = attempt(lambda: os.utime('/usr/bin', (0, 0)))
out['xattr'] = attempt(lambda: os.setxattr('/etc/hostname', 'user.sbx', b'x'))`),
    ).toEqual({ chmod: 'EROFS', utime: 'EROFS', xattr: 'EROFS' });
  });
});
