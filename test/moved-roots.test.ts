// lib/moved-roots.ts without the kernel: the view a moved root is planned
// through, and when two host paths share inodes (a bind mount on the host).
import { describe, expect, it } from 'vitest';
import { hostPath, movedPaths, movedView, overlaps } from '../lib/moved-roots';
import { parseMountInfo } from '../lib/mountinfo';
import type { FsStat, FsView } from '../lib/fsview';

const kinds: Record<string, string> = {
  '/': 'd',
  '/s': 'd',
  '/s/f': 'f',
  '/s/abs': '->/s/f',
  '/s/rel': '->f',
  '/d': 'd',
  '/d/hostonly': 'f',
};
const st = (k: string): FsStat => ({ isDirectory: () => k === 'd', isFile: () => k === 'f', isSymbolicLink: () => k.startsWith('->') });
const host = {
  lstat: (p: string) => (kinds[p] ? st(kinds[p]) : undefined),
  readlink: (p: string) => kinds[p].slice(2),
  readdir: (p: string) =>
    Object.keys(kinds)
      .filter((k) => k !== p && k.startsWith(p === '/' ? '/' : `${p}/`) && !k.slice(p.length + 1).includes('/'))
      .map((k) => k.slice(k.lastIndexOf('/') + 1)),
  identity: (p: string) => (kinds[p] ? `1:${p}` : undefined),
} as unknown as FsView;

describe('moved roots', () => {
  const roots = [{ src: '/s', dest: '/d' }];
  it("DEST's tree is SRC's: entries, identities, and symlinks resolved where the sandbox resolves them", () => {
    const v = movedView(host, roots);
    expect(v.readdir('/d').sort()).toEqual(['abs', 'f', 'rel']); // not the host's /d/hostonly
    expect(v.identity('/d/f')).toBe('1:/s/f');
    expect(v.lstat('/d/hostonly')).toBeUndefined();
    expect(v.realpath('/d/rel')).toBe('/d/f');
    expect(v.realpath('/d/abs')).toBe('/s/f'); // an absolute link leads to SRC's own path, read-only in the sandbox
    expect(() => v.realpath('/d/missing')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(hostPath(roots, '/d/x/y')).toBe('/s/x/y');
    expect(hostPath(roots, '/dx')).toBe('/dx');
    expect(movedPaths(roots, '/s/a')).toEqual(['/d/a']);
    expect(movedPaths(roots, '/sx')).toEqual([]);
  });

  it('paths share inodes when one holds the other, also through two mounts of one filesystem', () => {
    const mounts = parseMountInfo(
      [
        '1 0 8:1 / / rw - ext4 /dev/sda1 rw',
        '2 1 8:1 /home/u/work /srv/work rw - ext4 /dev/sda1 rw', // a bind mount of /home/u/work on the host
        '3 1 0:30 / /tmp rw - tmpfs tmpfs rw',
      ].join('\n'),
    );
    expect(overlaps('/home/u/work/p', '/srv/work', mounts)).toBe(true);
    expect(overlaps('/srv/work/p/q', '/home/u/work/p', mounts)).toBe(true);
    expect(overlaps('/srv/work/p', '/home/u/work/q', mounts)).toBe(false);
    expect(overlaps('/home/u', '/home/u/a', mounts)).toBe(true);
    expect(overlaps('/tmp/x', '/x', mounts)).toBe(false); // another filesystem
    expect(overlaps('/home/a', '/home/b', mounts)).toBe(false);
  });
});
