// The planner's mount table (lib/mount-watch.ts): read again only when the
// kernel says the table may have changed. A plan must still see every mount,
// unmount and flag change made since the previous plan read it.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { realView } from '../lib/fsview';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';

afterEach(() => {
  vi.restoreAllMocks();
});

describe(`the planner's mount table (as ${userLabel})`, () => {
  it('is not read again while the mount table is unchanged, and each caller gets its own copy', () => {
    const first = realView.mounts();
    const read = vi.spyOn(fs, 'readFileSync');
    const second = realView.mounts();
    expect(read.mock.calls.filter(([p]) => p === '/proc/self/mountinfo')).toHaveLength(0);
    expect(second).toEqual(first);
    second[0].mountPoint = '/changed';
    second[0].options!.push('changed');
    expect(realView.mounts()).toEqual(first);
  });

  // In a mount namespace of its own (unshare -r -m, as root and as nobody),
  // a process plans, changes its mount table, and plans again: each plan
  // must see the table as it is. Built dist/ is what runs there.
  it('sees a mount, a flag change (a bind remount) and an unmount made since the last read', () => {
    const dir = tempDir('sbx-mount-watch-');
    try {
      const script = `
        const { execFileSync } = require('child_process');
        const { realView } = require(${JSON.stringify(path.join(repoRoot, 'dist', 'fsview.js'))});
        const dir = ${JSON.stringify(dir)};
        const at = () => realView.mounts().filter((m) => m.mountPoint === dir).map((m) => [m.fsType, m.options.includes('ro') ? 'ro' : 'rw']);
        const seen = [at()];
        execFileSync('mount', ['-t', 'tmpfs', 'none', dir]);
        seen.push(at());
        execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
        seen.push(at());
        execFileSync('mount', ['-o', 'remount,bind,rw', dir]);
        seen.push(at());
        execFileSync('umount', [dir]);
        seen.push(at());
        process.stdout.write(JSON.stringify(seen));`;
      const r = spawnSync('unshare', ['-r', '-m', '--propagation', 'private', process.execPath, '-e', script], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([[], [['tmpfs', 'rw']], [['tmpfs', 'ro']], [['tmpfs', 'rw']], []]);
      // The host's table is as it was: the mount stayed in that namespace.
      expect(realView.mounts().some((m) => m.mountPoint === dir)).toBe(false);
    } finally {
      rmTree(dir);
    }
  });
});
