// Attack class: terminal injection (CVE-2017-5226 TIOCSTI, CVE-2019-10063 the
// high-bit variant, CVE-2023-28100 TIOCLINUX). The sandbox runs on a real
// pseudo-terminal (script -qc); the filter answers EPERM on the low 32 bits of
// the command, before the tty layer (which would say EIO/ENOTTY) is reached.
import { execFileSync } from 'child_process';
import fs from 'fs';
import { describe, expect, it } from 'vitest';
import { run } from '../../lib';
import { userLabel } from '../helpers';
import { PY, onPty, ptyResult } from './lib';

const none = { writableRoots: [] as string[] };

// A new pty pair (the sandbox's own devpts), its slave made the controlling
// terminal of a new session, then the injecting ioctls on it.
const OWN_PTY = `import os, ctypes, errno, fcntl, termios, json, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
out = {}
m, s = os.openpty()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.setsid()
    res = {}
    res['sctty'] = 'ok' if libc.ioctl(s, termios.TIOCSCTTY, None) == 0 else errno.errorcode[ctypes.get_errno()]
    for name, cmd in (('TIOCSTI', 0x5412), ('TIOCSTI high', (1 << 32) | 0x5412), ('TIOCLINUX', 0x541c)):
        rc = libc.ioctl(s, ctypes.c_ulong(cmd), ctypes.c_char_p(b'#' if cmd & 0xffff == 0x5412 else b'\\x03'))
        res[name] = 'ok' if rc == 0 else errno.errorcode[ctypes.get_errno()]
    os.write(w, json.dumps(res).encode()); os._exit(0)
os.close(w); os.waitpid(pid, 0)
res = json.loads(os.read(r, 4096))
os.set_blocking(m, False)
try: res['injected'] = os.read(m, 100).decode()
except BlockingIOError: res['injected'] = ''
print(json.dumps(res))
`;

const ioctl = `
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]
def ioctl(fd, cmd, arg=b'#'):
    r = libc.ioctl(fd, ctypes.c_ulong(cmd & 0xffffffffffffffff), ctypes.c_char_p(arg))
    return 'ok' if r >= 0 else errno.errorcode[ctypes.get_errno()]
TIOCSTI, TIOCLINUX = 0x5412, 0x541c
out['isatty'] = os.isatty(0)
`;

describe(`tty injection (as ${userLabel})`, () => {
  it('TIOCSTI on the inherited terminal, fds 0, 1 and 2 (EPERM)', () => {
    const out = ptyResult(
      onPty(
        `${ioctl}
for fd in (0, 1, 2): out['fd%d' % fd] = ioctl(fd, TIOCSTI)`,
        none,
      ),
    );
    expect(out).toEqual({ isatty: true, fd0: 'EPERM', fd1: 'EPERM', fd2: 'EPERM' });
  });

  it('TIOCSTI with high bits set in the command (1 << 32, 0xffffffff << 32) (EPERM)', () => {
    const out = ptyResult(
      onPty(
        `${ioctl}
out['1<<32'] = ioctl(0, (1 << 32) | TIOCSTI)
out['ff<<32'] = ioctl(0, (0xffffffff << 32) | TIOCSTI)`,
        none,
      ),
    );
    expect(out).toEqual({ isatty: true, '1<<32': 'EPERM', 'ff<<32': 'EPERM' });
  });

  it('TIOCLINUX paste/selection subcodes on the terminal, also with high bits (EPERM)', () => {
    const out = ptyResult(
      onPty(
        `${ioctl}
out['paste'] = ioctl(0, TIOCLINUX, bytes([3]))
out['set selection'] = ioctl(0, TIOCLINUX, bytes([2]) + bytes(10))
out['high'] = ioctl(0, (1 << 32) | TIOCLINUX, bytes([3]))`,
        none,
      ),
    );
    expect(out).toEqual({ isatty: true, paste: 'EPERM', 'set selection': 'EPERM', high: 'EPERM' });
  });

  it('reaching a controlling terminal: /dev/tty has none (ENXIO), TIOCSCTTY steals nothing (EPERM)', () => {
    const out = ptyResult(
      onPty(
        `${ioctl}
out['/dev/tty'] = attempt(lambda: os.open('/dev/tty', os.O_RDWR))
out['TIOCSCTTY'] = ioctl(0, 0x540e, None)
fd = os.open('/proc/self/fd/0', os.O_RDWR)
out['TIOCSTI on a reopened pty'] = ioctl(fd, TIOCSTI)`,
        none,
      ),
    );
    expect(out).toEqual({ isatty: true, '/dev/tty': 'ENXIO', TIOCSCTTY: 'EPERM', 'TIOCSTI on a reopened pty': 'EPERM' });
  });

  it('TIOCSTI on a pty the sandbox makes its own controlling terminal, where the kernel would allow it (EPERM; outside it injects)', async () => {
    const inside = await run(PY, ['-c', OWN_PTY], { sandbox: none });
    expect(JSON.parse(inside.stdout)).toEqual({ sctty: 'ok', TIOCSTI: 'EPERM', 'TIOCSTI high': 'EPERM', TIOCLINUX: 'EPERM', injected: '' });
    const outside = JSON.parse(execFileSync(PY, ['-c', OWN_PTY], { encoding: 'utf8' }));
    // Without the filter: injected, and TIOCLINUX reaches the tty layer (ENOTTY on a pty).
    if (fs.readFileSync('/proc/sys/dev/tty/legacy_tiocsti', 'utf8').trim() === '1')
      expect(outside).toMatchObject({ TIOCSTI: 'ok', injected: expect.stringMatching(/^#+$/) });
    expect(outside.TIOCLINUX).toBe('ENOTTY');
  });
});
