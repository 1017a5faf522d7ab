// Attack class: leaked descriptors (runc CVE-2024-21626). The parent Node
// process holds files, directories, sockets, libuv's epoll and eventfds; the
// command must see only 0-2 and what was passed, and nothing of the helper's.
import fs from 'fs';
import net from 'net';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from '../../lib';
import { userLabel } from '../helpers';
import { Fixture, PY, fixture, j, py, pyPrelude } from './lib';

describe(`leaked descriptors (as ${userLabel})`, () => {
  let f: Fixture;
  let held: number[];
  let server: net.Server;
  beforeEach(async () => {
    f = fixture();
    // Descriptors the parent holds while it spawns: a writable file outside
    // the roots, a directory, and a listening socket.
    held = [fs.openSync(path.join(f.O, 'secret'), 'r+'), fs.openSync(f.O, 'r')];
    server = net.createServer();
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  });
  afterEach(async () => {
    held.forEach((fd) => fs.closeSync(fd));
    await new Promise((res) => server.close(res));
    f.cleanup();
  });

  it('/proc/self/fd holds only 0, 1, 2: no file, directory, socket, epoll or eventfd of the parent', async () => {
    const before = f.state();
    const out = await py(
      `
out['fds'] = [fd for fd in range(0, 1024) if attempt(lambda: os.fstat(fd)) == 'ok']
out['targets'] = sorted(set(os.readlink('/proc/self/fd/%d' % fd).split(':')[0] for fd in out['fds']))`,
      f.sandbox,
    );
    expect(out).toEqual({ fds: [0, 1, 2], targets: ['pipe'] });
    expect(f.state()).toEqual(before);
  });

  it('every descriptor number from 3 to 1023 is closed (EBADF), so fchdir/openat/write through one is impossible', async () => {
    const out = await py(
      `
res = set()
for fd in range(3, 1024):
    res.add(attempt(lambda: os.fstat(fd)))
out['r'] = sorted(res)
out['write'] = attempt(lambda: os.write(${held[0]}, b'pwned'))
out['fchdir'] = attempt(lambda: os.fchdir(${held[1]}))`,
      f.sandbox,
    );
    expect(out).toEqual({ r: ['EBADF'], write: 'EBADF', fchdir: 'EBADF' });
    expect(fs.readFileSync(path.join(f.O, 'secret'), 'utf8')).toBe('secret');
  });

  it("the sandbox init's descriptors (its status pipe to the monitor) cannot be read, opened or written (EACCES)", async () => {
    const out = await py(
      `
fds = os.listdir('/proc/1/fd')
out['some'] = len(fds) > 0
res = set()
for n in fds:
    res.add(attempt(lambda: os.readlink('/proc/1/fd/' + n)))
    res.add(attempt(lambda: os.open('/proc/1/fd/' + n, os.O_WRONLY)))
    res.add(attempt(lambda: os.open('/proc/1/fd/' + n, os.O_RDONLY)))
    res.add(attempt(lambda: open('/proc/1/fdinfo/' + n).read()))
out['r'] = sorted(res)`,
      f.sandbox,
    );
    expect(out).toEqual({ some: true, r: ['EACCES'] });
  });

  it('an fd passed on purpose stays usable, and only it: fd 3 and nothing else', async () => {
    const child = spawn(
      PY,
      [
        '-c',
        `${pyPrelude()}
out['fds'] = sorted(int(x) for x in os.listdir('/proc/self/fd'))[:-1]
os.write(3, b'via-fd3')
sys.stdout.write(json.dumps(out))`,
      ],
      { sandbox: f.sandbox, stdio: ['ignore', 'pipe', 'pipe', held[0]] },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await new Promise((res) => child.on('close', res));
    expect(JSON.parse(out)).toEqual({ fds: [0, 1, 2, 3] });
    expect(fs.readFileSync(path.join(f.O, 'secret'), 'utf8')).toBe('via-fd3');
  });

  it('the cwd is the root it was given, and .. from it never leaves the sandbox view', async () => {
    const out = await py(
      `
out['cwd'] = os.getcwd()
os.chdir('/proc/self/cwd/../../../../../../..')
out['top'] = os.getcwd()`,
      f.sandbox,
      { cwd: f.repo },
    );
    expect(out).toEqual({ cwd: f.repo, top: '/' });
    void j;
  });
});
