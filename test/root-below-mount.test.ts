// A writable root that lives in a mount of its own below another writable
// area (a tmpfs at /tmp/x holding the root /tmp/x/ws, with tmp 'host' making
// /tmp writable) is writable inside: mounts below a writable root are made
// read-only again, so such a root gets a mount of its own. As root the tmpfs
// is mounted on the host; as any other user in a mount namespace of its own
// (unshare keeps the namespace's capabilities for the mount, setpriv drops
// them all before sbx-native runs, so it runs as that user and nothing else).
import { spawnSync } from 'child_process';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';

const bin = path.join(repoRoot, 'bin', 'sbx-native.js');
const isRoot = process.getuid!() === 0;

describe(`a writable root in a mount below /tmp, with tmp 'host' (as ${userLabel})`, () => {
  let mnt: string;
  beforeAll(() => {
    mnt = tempDir('sbx-submount-');
    if (isRoot) {
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mount tmpfs on ${mnt}: ${r.stderr}`);
    }
  });
  afterAll(() => {
    if (isRoot) spawnSync('umount', [mnt]);
    rmTree(mnt);
  });

  /** Makes `mnt` a tmpfs (unless root mounted it already), runs `setup` there, then the CLI, then `after`; stdout of all three. */
  const inMount = (setup: string, cliArgs: string[], after: string) => {
    const script = [
      isRoot ? '' : 'mount -t tmpfs -o size=1m tmpfs "$M" || exit 99',
      setup,
      `${isRoot ? '' : 'setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all '}"$NODE" "$BIN" "$@"; echo "exit=$?"`,
      after,
    ].join('\n');
    const wrap = isRoot ? ['sh'] : ['unshare', '--user', '--mount', '--map-current-user', '--keep-caps', 'sh'];
    const r = spawnSync(wrap[0], [...wrap.slice(1), '-c', script, 'sh', ...cliArgs], {
      encoding: 'utf8',
      cwd: mnt,
      env: { ...process.env, M: mnt, NODE: process.execPath, BIN: bin, PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' },
    });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout + r.stderr;
  };

  it('a root below the mount point is writable; the rest of that mount is read-only (EROFS); nothing else changes', () => {
    const out = inMount(
      'rm -rf "$M"/* && mkdir "$M/ws" && echo host > "$M/kept"',
      [
        'exec',
        '--tmp',
        'host',
        '--no-config',
        '-w',
        `${mnt}/ws`,
        '--cwd',
        `${mnt}/ws`,
        '--',
        'sh',
        '-c',
        'echo inside > f && mkdir d && mv f d/g && cat d/g; echo x > ../outside || echo "outside: refused"; echo y >> ../kept || echo "kept: refused"',
      ],
      'ls -A "$M" "$M/ws" "$M/ws/d"; cat "$M/kept"',
    );
    expect(out).toMatch(/^inside$/m);
    expect(out).toMatch(/outside: Read-only file system/);
    expect(out).toMatch(/kept: Read-only file system/);
    expect(out).toMatch(/^exit=0$/m);
    // The host side of the mount: the root's new files, and nothing else new or changed.
    expect(out).toContain(`${mnt}:\nkept\nws\n`);
    expect(out).toContain(`${mnt}/ws/d:\ng\n`);
    expect(out).toMatch(/^host$/m);
    expect(out).not.toMatch(/^outside$/m);
  });

  it('a root that is the mount point itself is writable', () => {
    const out = inMount(
      'rm -rf "$M"/*',
      ['exec', '--tmp', 'host', '--no-config', '-w', mnt, '--cwd', mnt, '--', 'sh', '-c', 'echo inside > f && mkdir d && cat f'],
      'ls -A "$M"',
    );
    expect(out).toMatch(/^inside\nexit=0\nd\nf\n$/);
  });
});
