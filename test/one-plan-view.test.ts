// A plan's view of the host (lib/fsview.ts onePlanView): one answer per path
// for one plan, a failed realpath included, and a fresh one for the next plan.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { onePlanView, realView } from '../lib/fsview';
import { native } from '../lib/native';
import { prepare } from '../lib/prepare';
import { rmTree, tempDir, userLabel } from './helpers';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A directory, a file, a symlink to the directory and a dangling one, in d. */
function entries(d: string): void {
  fs.mkdirSync(path.join(d, 'dir'));
  fs.writeFileSync(path.join(d, 'file'), 'x');
  fs.symlinkSync('dir', path.join(d, 'link'));
  fs.symlinkSync('missing', path.join(d, 'dangling'));
}

describe(`one plan's view of the host (as ${userLabel})`, () => {
  it('prepare() resolves no path twice, yet the next plan asks again', () => {
    const root = tempDir('sbx-one-plan-');
    try {
      prepare('/bin/true', [], { sandbox: { writableRoots: [root] }, cwd: root }); // modules loaded, host facts cached
      const calls = vi.spyOn(fs.realpathSync, 'native');
      prepare('/bin/true', [], { sandbox: { writableRoots: [root] }, cwd: root });
      const asked = calls.mock.calls.map(([p]) => String(p));
      expect(asked.length).toBeGreaterThan(0);
      expect(asked.length).toBe(new Set(asked).size);
      calls.mockClear();
      prepare('/bin/true', [], { sandbox: { writableRoots: [root] }, cwd: root });
      expect(calls.mock.calls.map(([p]) => String(p)).sort()).toEqual([...asked].sort());
    } finally {
      rmTree(root);
    }
  });

  it('a failed realpath fails again the same way, without asking the host again', () => {
    const d = tempDir('sbx-one-plan-');
    try {
      const view = onePlanView(realView);
      const calls = vi.spyOn(fs.realpathSync, 'native');
      const missing = path.join(d, 'missing');
      const code = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return (e as NodeJS.ErrnoException).code;
        }
        return 'resolved';
      };
      expect(code(() => view.realpath(missing))).toBe('ENOENT');
      expect(code(() => view.realpath(missing))).toBe('ENOENT');
      expect(view.realpath(d)).toBe(fs.realpathSync(d));
      expect(view.realpath(d)).toBe(fs.realpathSync(d));
      expect(calls.mock.calls.map(([p]) => String(p))).toEqual([missing, d]);
    } finally {
      rmTree(d);
    }
  });

  it('answers lstat through the addon as fs answers it: type, identity, absence and errors', () => {
    const d = tempDir('sbx-one-plan-');
    try {
      entries(d);
      execFileSync('mkfifo', [path.join(d, 'fifo')]);
      const b = native().binding;
      const answered: string[] = [];
      const view = onePlanView(realView, (p) => (answered.push(p), b.lstatAnswer!(p)));
      for (const n of ['dir', 'file', 'link', 'dangling', 'fifo']) {
        const p = path.join(d, n);
        const st = fs.lstatSync(p);
        const got = view.lstat(p)!;
        expect([n, got.isDirectory(), got.isFile(), got.isSymbolicLink()]).toEqual([n, st.isDirectory(), st.isFile(), st.isSymbolicLink()]);
        expect(view.identity(p)).toBe(`${st.dev}:${st.ino}`);
      }
      expect(view.lstat(path.join(d, 'missing'))).toBeUndefined();
      expect(view.identity(path.join(d, 'missing'))).toBeUndefined();
      // An error other than ENOENT throws as fs throws it.
      expect(() => view.lstat(path.join(d, 'file', 'below'))).toThrow(expect.objectContaining({ code: 'ENOTDIR', syscall: 'lstat' }));
      expect(answered).toContain(path.join(d, 'file', 'below'));
    } finally {
      rmTree(d);
    }
  });

  it('answers stat of a name that is no symlink from its lstat, and asks the host for the rest, as fs answers', () => {
    const d = tempDir('sbx-one-plan-');
    try {
      entries(d);
      const b = native().binding;
      const view = onePlanView(realView, b.lstatAnswer!.bind(b));
      const stats = vi.spyOn(fs, 'statSync');
      for (const n of ['dir', 'file', 'link', 'dangling', 'missing']) {
        const p = path.join(d, n);
        const st = fs.statSync(p, { throwIfNoEntry: false });
        stats.mockClear();
        const got = view.stat(p);
        expect([n, got?.isDirectory(), got?.isFile(), got?.isSymbolicLink()]).toEqual([
          n,
          st?.isDirectory(),
          st?.isFile(),
          st?.isSymbolicLink(),
        ]);
        // Only a symlink (followed) or an absent name is asked again.
        expect([n, stats.mock.calls.length]).toEqual([n, n === 'dir' || n === 'file' ? 0 : 1]);
      }
      // An error throws as stat throws it (not as the lstat it was first asked as).
      expect(() => view.stat(path.join(d, 'file', 'below'))).toThrow(expect.objectContaining({ code: 'ENOTDIR', syscall: 'stat' }));
    } finally {
      rmTree(d);
    }
  });
});
