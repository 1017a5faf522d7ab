// Capabilities through the installed front end, against the kernel: the
// command holds none (CapEff read from /proc/self/status, as bubblewrap's
// tests read it), `--cap-add` is refused before anything runs, and without
// CAP_SETFCAP the command cannot write a file capability into a writable
// root (the host's file keeps none). Run as root and as nobody.
import { spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmTree, snapshot, tempDir, userLabel } from './helpers';
import { installFrontEnd, runBwrap } from './bwrap/fixtures';

const made: string[] = [];
afterAll(() => made.forEach(rmTree));

const { binDir, shim } = installFrontEnd('sbx-bwrap-caps-bin-');
made.push(binDir);

// Debian's python3 (a pyenv shim may not be runnable by nobody): for setxattr and getxattr with their errno.
const PY = '/usr/bin/python3';
const HAS_CAPS = `
import errno, os, sys
try:
    os.getxattr(sys.argv[1], 'security.capability')
    print('present')
except OSError as e:
    print(errno.errorcode[e.errno])
`;

const capLines = (out: string) => out.split('\n').filter((l) => /^Cap|^NoNewPrivs/.test(l));

describe(`capabilities (as ${userLabel})`, () => {
  it('with --cap-drop ALL and without any cap option the command holds no capability in any set; no_new_privs is set', () => {
    const zero = ['CapInh:\t0000000000000000', 'CapPrm:\t0000000000000000', 'CapEff:\t0000000000000000', 'CapBnd:\t0000000000000000'];
    for (const caps of [['--cap-drop', 'ALL'], []]) {
      const r = runBwrap(shim, ['--ro-bind', '/', '/', '--unshare-user', '--unshare-pid', ...caps, '--', 'cat', '/proc/self/status']);
      expect(r.code).toBe(0);
      expect(capLines(r.stdout)).toEqual([...zero, 'CapAmb:\t0000000000000000', 'NoNewPrivs:\t1']);
    }
  });

  it('--cap-add is refused naming the capabilities, exit 1, the command never runs', () => {
    const d = tempDir('sbx-bwrap-caps-');
    made.push(d);
    const ran = path.join(d, 'ran');
    for (const [caps, named] of [
      [['--cap-drop', 'ALL', '--cap-add', 'CAP_SETFCAP'], 'CAP_SETFCAP'],
      [['--cap-add', 'ALL'], 'ALL'],
      [['--cap-add', 'cap_sys_ptrace'], 'CAP_SYS_PTRACE'],
    ] as const) {
      const r = runBwrap(shim, ['--ro-bind', '/', '/', '--bind', d, d, '--unshare-user', ...caps, '--', 'touch', ran]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^bwrap: --cap-add ${named}: not supported by sbx-native's bwrap front end`));
      expect(fs.existsSync(ran)).toBe(false);
    }
    expect(fs.readdirSync(d)).toEqual([]);
  });

  it('an unknown capability name is bubblewrap\'s "unknown cap" error', () => {
    const r = runBwrap(shim, ['--ro-bind', '/', '/', '--cap-add', 'CAP_NOPE', '--', 'true']);
    expect(r).toMatchObject({ code: 1, stderr: 'bwrap: unknown cap: CAP_NOPE\n' });
  });

  it.skipIf(!fs.existsSync(PY))(
    'the command cannot write a file capability into a writable root (EPERM); the host file keeps none (needs python3)',
    () => {
      const d = tempDir('sbx-bwrap-caps-');
      made.push(d);
      const f = path.join(d, 'prog');
      fs.copyFileSync('/bin/true', f);
      const before = snapshot(d);
      // VFS_CAP_REVISION_2 with CAP_SYS_ADMIN permitted and effective: what setcap cap_sys_admin+ep writes.
      const value = Buffer.alloc(20);
      value.writeUInt32LE(0x02000001, 0);
      value.writeUInt32LE(1 << 21, 4);
      const script = `
import errno, os, sys
try:
    os.setxattr(sys.argv[1], 'security.capability', bytes.fromhex(sys.argv[2]))
    print('set')
except OSError as e:
    print(errno.errorcode[e.errno])
`;
      const r = runBwrap(shim, ['--ro-bind', '/', '/', '--bind', d, d, '--unshare-user', '--', PY, '-c', script, f, value.toString('hex')]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('EPERM\n');
      expect(snapshot(d)).toEqual(before);
      const onHost = spawnSync(PY, ['-c', HAS_CAPS, f], { encoding: 'utf8' });
      expect(onHost.stdout).toBe('ENODATA\n'); // no security.capability on the host's file
    },
  );
});
