// The comparison harness: the same argv (Codex's and sandbox-runtime's
// shapes) under real bubblewrap and under the front end, a probe script
// (test/bwrap/probe.sh: namespaces, /proc/self/status, ids, pid, fds,
// network, /dev, and per path: type, entries, writability) in each, and the
// two outputs diffed. The only differences allowed are the documented ones
// (docs/bwrap.md, "Differences from bubblewrap"), listed per shape below.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, tempDir } from './helpers';
import { codexArgv, installFrontEnd, preflightArgv, srtArgv } from './bwrap/fixtures';

const realBwrap = '/usr/bin/bwrap';
const probe = path.join(repoRoot, 'test', 'bwrap', 'probe.sh');
const { binDir, shim: front } = installFrontEnd('sbx-bwrap-cmp-');
const made = [binDir];
afterAll(() => made.forEach(rmTree));

const hostNs = ['cgroup', 'ipc', 'mnt', 'net', 'pid_for_children', 'user', 'uts'].map(
  (ns) => `${ns}=${fs.statSync(`/proc/self/ns/${ns}`).ino}`,
);

/** A fresh tree at H: roots a (a repository) and b, an outside dir, a dotfile. Made anew for each run (bubblewrap leaves mount points behind). */
function tree(H: string): void {
  rmTree(H);
  fs.mkdirSync(H, { mode: 0o755 });
  for (const d of ['a', 'a/.git', 'b', 'outside']) fs.mkdirSync(path.join(H, d));
  fs.writeFileSync(path.join(H, 'outside', 'conf'), 'host conf');
  fs.writeFileSync(path.join(H, 'a', '.gitconfig'), 'secret');
  fs.writeFileSync(path.join(H, 'a', 'file'), 'data');
  fs.chmodSync(H, 0o755);
}

/** `fds`: opened after the tree is made, passed from fd 3 on, closed after the run (data for --bind-data). */
function probeUnder(bwrap: string, H: string, argv: string[], paths: string[], fds: () => number[] = () => []): Map<string, string> {
  tree(H);
  const extra = fds();
  const r = spawnSync(bwrap, [...argv, '/bin/sh', probe, ...hostNs, '--', ...paths], {
    cwd: path.join(H, 'a'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe', ...extra],
    timeout: 30_000,
    env: { PATH: '/usr/bin:/bin', HOME: H },
  });
  extra.forEach((fd) => fs.closeSync(fd));
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const out = new Map<string, string>();
  for (const line of r.stdout.trim().split('\n')) {
    const i = line.indexOf(': ');
    out.set(line.slice(0, i), line.slice(i + 2));
  }
  return out;
}

function diff(H: string, argv: string[], paths: string[], fds?: () => number[]): Record<string, [string, string]> {
  const theirs = probeUnder(realBwrap, H, argv, paths, fds);
  const ours = probeUnder(front, H, argv, paths, fds);
  const out: Record<string, [string, string]> = {};
  for (const k of new Set([...theirs.keys(), ...ours.keys()])) {
    if (theirs.get(k) !== ours.get(k)) out[k.replaceAll(H, 'H')] = [theirs.get(k) ?? '-', ours.get(k) ?? '-'];
  }
  return out;
}

// The documented differences, by the key the probe prints.
const ALWAYS = {
  'status Seccomp': 'sbx-native always installs its seccomp filter (2); bubblewrap none without --seccomp (0)',
};

describe.skipIf(!fs.existsSync(realBwrap))(
  `the front end against real bubblewrap (${realBwrap})${fs.existsSync(realBwrap) ? '' : ': skipped, not installed'}`,
  () => {
    it('Codex 0.171 workspace-write argv: same tree, writability and namespaces but for the documented differences', () => {
      const H = tempDir('sbx-cmp-');
      made.push(H);
      const A = `${H}/a`;
      const B = `${H}/b`;
      // No --argv0: bubblewrap 0.8 lacks it (Codex then leaves it out too).
      const argv = codexArgv([A, B], {
        protect: ['.codex'],
        afterRoot: (R) => (R === A ? ['--ro-bind', `${A}/.git`, `${A}/.git`] : []),
        argv0: false,
      });
      const d = diff(H, argv, [A, `${A}/.git`, `${A}/.codex`, `${A}/file`, B, `${B}/.codex`, `${H}/outside`, '/etc', '/usr', '/']); // not /tmp: other programs change it meanwhile
      expect(Object.keys(d).sort()).toEqual(
        [
          ...Object.keys(ALWAYS),
          'pid is 1', // --as-pid-1: the command is pid 2 under sbx-native's init
          'ns uts', // always a new UTS namespace
          'path H/a/.codex',
          'path H/b/.codex', // a --tmpfs onto a missing path is a refused name (absent), not a mount point made on the host
          'path H/a',
          'path H/b', // ... which is why bubblewrap's roots have one entry more (the .codex it left behind)
        ].sort(),
      );
      expect(d['path H/a']).toEqual(['dir, 4 entries, writable', 'dir, 3 entries, writable']);
      expect(d['pid is 1']).toEqual(['yes', 'no']);
      expect(d['ns uts']).toEqual(['host', 'new']);
      expect(d['path H/a/.codex']).toEqual(['dir, 0 entries, read-only', 'absent']);
      expect(d['status Seccomp']).toEqual(['0', '2']);
    });

    it('sandbox-runtime 0.0.83 argv: the same but for the documented differences', () => {
      const H = tempDir('sbx-cmp-');
      made.push(H);
      const A = `${H}/a`;
      const B = `${H}/b`;
      const argv = [...srtArgv(A, B), '--'];
      const d = diff(H, argv, [A, `${A}/.gitconfig`, `${A}/.bashrc`, `${A}/.git`, `${A}/file`, B, `${H}/outside`, '/etc']); // not /tmp: other programs change it meanwhile
      expect(Object.keys(d).sort()).toEqual(
        [
          ...Object.keys(ALWAYS),
          'ns ipc', // always a new IPC namespace
          'ns uts', // always a new UTS namespace
          `path H/a/.bashrc`, // /dev/null onto a missing path: a refused name, not an empty file made on the host
          'path H/a', // ... which is why bubblewrap's root has one entry more
          'path H/a/.gitconfig', // a /dev/null mask is an empty file (bubblewrap's is the device node on a nodev mount: EACCES)
        ].sort(),
      );
      expect(d['path H/a/.bashrc']).toEqual(['file, unreadable, read-only', 'absent']);
      // An existing .git is writable but for what makes git run code (policy.md, the repository model), as under bubblewrap here.
      expect(d['path H/a/.git']).toBeUndefined();
      expect(d['path H/a/.gitconfig']).toEqual(['file, unreadable, read-only', 'file, 0 bytes, read-only']);
    });

    it('a writable --tmpfs of --perms/--size, --ro-bind of a root at another path, --uid/--gid: the same but for the documented differences', () => {
      const H = tempDir('sbx-cmp-');
      made.push(H);
      const A = `${H}/a`;
      const B = `${H}/b`;
      const argv = [
        ...[
          '--ro-bind',
          '/',
          '/',
          '--dev',
          '/dev',
          '--bind',
          A,
          A,
          '--perms',
          '0700',
          '--size',
          '1048576',
          '--tmpfs',
          B,
          '--ro-bind',
          A,
          `${H}/outside`,
        ],
        ...['--unshare-user', '--uid', '1234', '--gid', '99', '--unshare-pid', '--unshare-net', '--cap-drop', 'ALL', '--'],
      ];
      const d = diff(H, argv, [A, B, `${H}/outside`, `${H}/outside/file`, `${H}/outside/.git`, `${H}/outside/.gitconfig`]);
      expect(Object.keys(d).sort()).toEqual([...Object.keys(ALWAYS), 'ns ipc', 'ns uts'].sort());
    });

    it('--bind SRC DEST of another path (and a --bind-try of a missing one): the same but for the documented differences', () => {
      const H = tempDir('sbx-cmp-');
      made.push(H);
      const A = `${H}/a`;
      const B = `${H}/b`;
      const argv = [
        ...['--ro-bind', '/', '/', '--dev', '/dev', '--bind', A, A, '--bind', `${H}/outside`, B, '--bind-try', `${H}/none`, `${H}/a/.git`],
        ...['--unshare-user', '--unshare-pid', '--unshare-net', '--cap-drop', 'ALL', '--'],
      ];
      const d = diff(H, argv, [A, B, `${B}/conf`, `${B}/.git`, `${H}/outside`, `${H}/outside/conf`]);
      expect(Object.keys(d).sort()).toEqual([...Object.keys(ALWAYS), 'ns ipc', 'ns uts'].sort());
    });

    it('--bind-data in a writable root and --ro-bind-data in a read-only place, over existing files: the same but for the documented differences', () => {
      const H = tempDir('sbx-cmp-');
      made.push(H);
      const A = `${H}/a`;
      const data = path.join(H, '..', `${path.basename(H)}-data`);
      made.push(data);
      fs.writeFileSync(data, 'twelve bytes');
      const argv = [
        ...['--ro-bind', '/', '/', '--dev', '/dev', '--bind', A, A, '--bind-data', '3', `${A}/file`],
        ...['--perms', '0640', '--ro-bind-data', '4', `${H}/outside/conf`],
        ...['--unshare-user', '--unshare-pid', '--unshare-net', '--cap-drop', 'ALL', '--'],
      ];
      const open = () => [fs.openSync(data, 'r'), fs.openSync(data, 'r')];
      const d = diff(H, argv, [A, `${A}/file`, `${H}/outside`, `${H}/outside/conf`], open);
      expect(Object.keys(d).sort()).toEqual([...Object.keys(ALWAYS), 'ns ipc', 'ns uts'].sort());
      expect(fs.readFileSync(`${H}/outside/conf`, 'utf8')).toBe('host conf'); // the tree is made anew for each run: this is the front end's
      expect(fs.readFileSync(`${A}/file`, 'utf8')).toBe('data');
    });

    it("Codex's preflight argv (--tmpfs / and read-only system dirs): the same but for the documented differences", () => {
      const H = tempDir('sbx-cmp-');
      made.push(H);
      const argv = preflightArgv([path.dirname(probe)], false); // the probe script's directory, for both
      const d = diff(H, argv, ['/usr', '/etc', '/bin', '/home', '/var', '/root', '/']);
      expect(Object.keys(d).sort()).toEqual(
        [
          ...Object.keys(ALWAYS),
          'ns uts', // always a new UTS namespace
          'path /',
          'path /home',
          'path /root',
          'path /var', // unbound top-level directories look empty instead of being absent
          'path /bin', // top-level symlinks stay (bubblewrap binds the directory they lead to)
        ].sort(),
      );
      expect(d['path /home']).toEqual(['absent', 'dir, 0 entries, read-only']);
      expect(d['path /bin'][0]).toMatch(/^dir, \d+ entries, read-only$/);
      expect(d['path /bin'][1]).toBe('symlink to usr/bin');
    });
  },
);
