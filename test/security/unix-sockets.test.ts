// Attack class: host pathname unix sockets (issue 13). A sandboxed process
// may connect, or send a datagram, only to a pathname unix socket a process
// of the same sandbox bound, or one the policy allows (allowUnixSockets);
// everything else is EACCES and nothing reaches the host socket, with the
// network off or on. Every spelling of a path lands on the same decision.
import { execFileSync, spawn as cpSpawn, spawnSync } from 'child_process';
import fs from 'fs';
import net from 'net';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, spawn } from '../../lib';
import { repoRoot, userLabel } from '../helpers';
import { Fixture, fixture, j, PY, py } from './lib';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;

/** A host stream listener at `sock` that counts the connections it accepts. */
async function hostListener(sock: string): Promise<{ accepted: () => number; close: () => Promise<void> }> {
  let n = 0;
  const srv = net.createServer((c) => {
    n++;
    c.on('error', () => {});
    c.end();
  });
  await new Promise<void>((res) => srv.listen(sock, res));
  return { accepted: () => n, close: () => new Promise((res) => srv.close(() => res())) };
}

/** A host datagram socket at `sock` (Python outside the sandbox); `received()` stops it and says how many datagrams came. */
async function hostDatagrams(sock: string): Promise<{ received: () => Promise<number> }> {
  const p = cpSpawn(
    PY,
    [
      '-c',
      `
import socket, sys, select
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(${j(sock)}); print('ready', flush=True)
n = 0
while True:
    r, _, _ = select.select([s, sys.stdin], [], [])
    if s in r: s.recv(65536); n += 1
    if sys.stdin in r: break
print(n, flush=True)`,
    ],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let text = '';
  p.stdout.on('data', (d) => {
    text += d;
  });
  await new Promise<void>((res) => {
    const t = setInterval(() => {
      if (text.includes('ready')) {
        clearInterval(t);
        res();
      }
    }, 10);
  });
  return {
    received: () =>
      new Promise((res) => {
        p.on('exit', () => res(Number(text.replace('ready', '').trim())));
        p.stdin.end();
      }),
  };
}

describe(`host unix sockets (as ${userLabel})`, () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => f.cleanup());

  const connect = (sock: string) => `out['r'] = attempt(lambda: socket.socket(socket.AF_UNIX).connect(${j(sock)}))`;

  it.skipIf(!hasTmux)(
    'a real tmux server outside cannot be driven: new-window fails and the file it would create stays absent',
    async () => {
      const tmpdir = path.join(f.O, 'tmux');
      fs.mkdirSync(tmpdir, { mode: 0o700 });
      // SHELL: tmux runs the pane's command with $SHELL, else the passwd shell,
      // which for nobody is nologin: the pane would end at once and the server with it.
      const env = { ...process.env, TMUX_TMPDIR: tmpdir, SHELL: '/bin/sh' };
      delete env.TMUX;
      execFileSync('tmux', ['-L', 'sbx', 'new-session', '-d', 'sleep 60'], { env });
      const marker = path.join(f.O, 'escaped');
      try {
        // The default policy: /tmp (where the server's socket lives) is a writable root.
        for (const sandbox of [{ writableRoots: [f.repo] }, { writableRoots: [f.repo], network: true }]) {
          const r = await run('tmux', ['-L', 'sbx', 'new-window', '-d', `touch ${marker}`], { sandbox, env, cwd: f.repo });
          expect(r.code).not.toBe(0);
          expect(r.stderr).toMatch(/Permission denied/);
        }
        await new Promise((res) => setTimeout(res, 300));
        expect(fs.existsSync(marker)).toBe(false);
        // The same server, from outside: the test is not vacuous.
        execFileSync('tmux', ['-L', 'sbx', 'list-sessions'], { env });
      } finally {
        spawnSync('tmux', ['-L', 'sbx', 'kill-server'], { env });
      }
    },
  );

  for (const [label, place] of [
    ['an ssh ControlMaster socket (~/.ssh/cm-host:22)', (fx: Fixture) => path.join(fx.O, '.ssh', 'cm-git@host:22')],
    ['an X11 display socket (/tmp/.X11-unix/X99-like)', (fx: Fixture) => path.join(fx.O, '.X11-unix', 'X99')],
    ["another session's ssh-agent (/tmp/ssh-XXXX/agent.N, not $SSH_AUTH_SOCK)", (fx: Fixture) => path.join(fx.O, 'ssh-Zk81', 'agent.77')],
    ['a host socket inside a writable root', (fx: Fixture) => path.join(fx.repo, 'daemon.sock')],
  ] as const) {
    it(`${label}: connect is EACCES with the network off and on, nothing is accepted; allowUnixSockets reaches it`, async () => {
      const sock = place(f);
      fs.mkdirSync(path.dirname(sock), { recursive: true });
      const l = await hostListener(sock);
      try {
        const before = f.state();
        expect(await py(connect(sock), f.sandbox, { cwd: f.repo })).toEqual({ r: 'EACCES' });
        expect(await py(connect(sock), { ...f.sandbox, network: true }, { cwd: f.repo })).toEqual({ r: 'EACCES' });
        expect(l.accepted()).toBe(0);
        expect(f.state()).toEqual(before);
        // Allowed, by the socket itself and by its directory.
        expect(await py(connect(sock), { ...f.sandbox, allowUnixSockets: [sock] }, { cwd: f.repo })).toEqual({ r: 'ok' });
        expect(await py(connect(sock), { ...f.sandbox, allowUnixSockets: [path.dirname(sock)] }, { cwd: f.repo })).toEqual({ r: 'ok' });
        await new Promise((res) => setTimeout(res, 100));
        expect(l.accepted()).toBe(2);
      } finally {
        await l.close();
      }
    });
  }

  it('every mode with a supervisor holds the rule: read-only and full', async () => {
    const sock = path.join(f.O, 'm.sock');
    const l = await hostListener(sock);
    try {
      expect(await py(connect(sock), { mode: 'read-only' })).toEqual({ r: 'EACCES' });
      expect(await py(connect(sock), { mode: 'full' })).toEqual({ r: 'EACCES' });
      expect(await py(connect(sock), { mode: 'full', allowUnixSockets: [sock] })).toEqual({ r: 'ok' });
      await new Promise((res) => setTimeout(res, 100));
      expect(l.accepted()).toBe(1);
    } finally {
      await l.close();
    }
  });

  it("datagrams to a host socket, by sendto, sendmsg and sendmmsg, are EACCES and never arrive; to the sandbox's own socket they do", async () => {
    const sock = path.join(f.O, 'dgram.sock');
    const host = await hostDatagrams(sock);
    const own = path.join(f.repo, 'own.dgram');
    const out = await py(
      `
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
out['sendto'] = attempt(lambda: s.sendto(b'x', ${j(sock)}))
out['sendmsg'] = attempt(lambda: s.sendmsg([b'x'], [], 0, ${j(sock)}))
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
out['socketpair sendto'] = attempt(lambda: a.sendto(b'x', ${j(sock)}))
out['connect'] = attempt(lambda: s.connect(${j(sock)}))
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind(${j(own)})
out['own sendto'] = attempt(lambda: s.sendto(b'hello', ${j(own)}))
out['own sendmsg'] = attempt(lambda: s.sendmsg([b'wor', b'ld'], [], 0, ${j(own)}))
out['got'] = [r.recv(100).decode(), r.recv(100).decode()]
out['pair'] = attempt(lambda: a.send(b'p')); out['pair got'] = b.recv(10).decode()
# sendmmsg (glibc has it, Python does not): three to the pair's peer, then one addressed to the host socket
class iovec(ctypes.Structure): _fields_ = [('base', ctypes.c_char_p), ('len', ctypes.c_size_t)]
class msghdr(ctypes.Structure): _fields_ = [('name', ctypes.c_void_p), ('namelen', ctypes.c_uint), ('iov', ctypes.POINTER(iovec)), ('iovlen', ctypes.c_size_t), ('control', ctypes.c_void_p), ('controllen', ctypes.c_size_t), ('flags', ctypes.c_int)]
class mmsghdr(ctypes.Structure): _fields_ = [('hdr', msghdr), ('len', ctypes.c_uint)]
words = [b'one', b'three', b'seven']
iovs = (iovec * 3)(*[iovec(w, len(w)) for w in words])
vec = (mmsghdr * 3)()
for i in range(3): vec[i].hdr.iov = ctypes.pointer(iovs[i]); vec[i].hdr.iovlen = 1; vec[i].len = 99
out['sendmmsg'] = libc.sendmmsg(a.fileno(), vec, 3, 0)
out['sendmmsg lens'] = [vec[i].len for i in range(3)]
out['sendmmsg got'] = [b.recv(10).decode() for _ in range(3)]
addr = ctypes.create_string_buffer(struct.pack('H', socket.AF_UNIX) + ${j(sock)}.encode() + b'\\0', 110)
vec[0].hdr.name = ctypes.cast(addr, ctypes.c_void_p); vec[0].hdr.namelen = 110
r = libc.sendmmsg(s.fileno(), vec, 1, 0)
out['sendmmsg host'] = errno.errorcode[ctypes.get_errno()] if r < 0 else r`,
      f.sandbox,
      { cwd: f.repo },
    );
    expect(await host.received()).toBe(0);
    expect(out).toEqual({
      sendto: 'EACCES',
      sendmsg: 'EACCES',
      'socketpair sendto': 'EACCES',
      connect: 'EACCES',
      'own sendto': 'ok',
      'own sendmsg': 'ok',
      got: ['hello', 'world'],
      pair: 'ok',
      'pair got': 'p',
      sendmmsg: 3,
      'sendmmsg lens': [3, 5, 5],
      'sendmmsg got': ['one', 'three', 'seven'],
      'sendmmsg host': 'EACCES',
    });
  });

  it("every spelling of a host socket's path is refused, every spelling of an own socket works: relative, symlink, /proc/self/root, /proc/self/cwd, a dirfd, a path longer than sun_path", async () => {
    // Both sockets in one deep directory of the writable root, its path longer than 108 bytes.
    const deep = path.join(f.repo, 'd'.repeat(60), 'e'.repeat(60));
    fs.mkdirSync(deep, { recursive: true });
    const hostSock = path.join(deep, 'host.sock');
    const prev = process.cwd();
    process.chdir(deep); // the host binds by a relative name: the full path does not fit sun_path
    const l = await hostListener('host.sock');
    process.chdir(prev);
    expect(hostSock.length).toBeGreaterThan(108);
    fs.symlinkSync(hostSock, path.join(f.repo, 'link-host'));
    try {
      const out = await py(
        `
own = socket.socket(socket.AF_UNIX); os.chdir(${j(deep)}); own.bind('own.sock'); own.listen(64)
os.symlink(os.path.join(${j(deep)}, 'own.sock'), ${j(path.join(f.repo, 'link-own'))})
dfd = os.open(${j(deep)}, os.O_PATH | os.O_DIRECTORY)
for who in ['host', 'own']:
    for name, spell, cwd in [
        ('relative', who + '.sock', ${j(deep)}),
        ('dot-dot', '../' + 'e' * 60 + '/' + who + '.sock', ${j(deep)}),
        ('symlink', ${j(f.repo)} + '/link-' + who, '/'),
        ('proc-root', '/proc/self/root' + ${j(f.repo)} + '/link-' + who, '/'),
        ('proc-cwd', '/proc/self/cwd/' + who + '.sock', ${j(deep)}),
        ('dirfd', '/proc/self/fd/%d/%s.sock' % (dfd, who), '/'),
        ('dev-fd', '/dev/fd/%d/%s.sock' % (dfd, who), '/')]:
        os.chdir(cwd)
        out[who + ' ' + name] = attempt(lambda: socket.socket(socket.AF_UNIX).connect(spell))
        out[who + ' dgram ' + name] = attempt(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'x', spell))`,
        f.sandbox,
        { cwd: f.repo },
      );
      const names = ['relative', 'dot-dot', 'symlink', 'proc-root', 'proc-cwd', 'dirfd', 'dev-fd'];
      for (const n of names) {
        expect([n, out[`host ${n}`]]).toEqual([n, 'EACCES']);
        expect([n, out[`own ${n}`]]).toEqual([n, 'ok']);
        expect([n, out[`host dgram ${n}`]]).toEqual([n, 'EACCES']);
        expect([n, out[`own dgram ${n}`]]).toEqual([n, 'EPROTOTYPE']); // a stream socket: the kernel's own answer
      }
      expect(l.accepted()).toBe(0);
    } finally {
      await l.close();
    }
  });

  it('--allow-unix-socket (repeatable) lets the CLI reach that socket only', async () => {
    const a = path.join(f.O, 'a.sock');
    const b = path.join(f.O, 'b.sock');
    const c = path.join(f.O, 'c.sock');
    const ls = await Promise.all([a, b, c].map(hostListener));
    try {
      const body = `import socket, sys\nfor p in sys.argv[1:]:\n    try:\n        socket.socket(socket.AF_UNIX).connect(p); print(p, 'ok')\n    except OSError as e:\n        print(p, e.errno)`;
      const cli = (flags: string[]) =>
        spawnSync(
          process.execPath,
          [path.join(repoRoot, 'bin', 'sbx-native.js'), 'exec', '--no-config', '-w', f.repo, ...flags, '--', PY, '-c', body, a, b, c],
          { cwd: f.repo, encoding: 'utf8' },
        );
      const EACCES = 13;
      expect(cli([]).stdout).toBe(`${a} ${EACCES}\n${b} ${EACCES}\n${c} ${EACCES}\n`);
      const r = cli(['-v', '--allow-unix-socket', a, '--allow-unix-socket', c]);
      expect([r.status, r.stdout]).toEqual([0, `${a} ok\n${b} ${EACCES}\n${c} ok\n`]);
      expect(r.stderr).toContain(
        `sbx-native: unix sockets: only those the sandbox binds and ${a}, ${c} (connect and datagrams supervised)\n`,
      );
      await new Promise((res) => setTimeout(res, 100));
      expect(ls.map((l) => l.accepted())).toEqual([1, 0, 1]);
    } finally {
      await Promise.all(ls.map((l) => l.close()));
    }
  });

  it('bad allowUnixSockets input is refused naming the key and the value; nothing runs', async () => {
    const marker = path.join(f.repo, 'ran');
    const attempt = (allowUnixSockets: unknown) =>
      run('/bin/sh', ['-c', `touch ${marker}`], { sandbox: { ...f.sandbox, allowUnixSockets } as never });
    await expect(attempt(['rel/sock'])).rejects.toThrow('invalid sandbox policy: allowUnixSockets[0] = "rel/sock": path must be absolute');
    await expect(attempt('/tmp/x.sock')).rejects.toThrow('invalid sandbox policy: allowUnixSockets = "/tmp/x.sock": expected an array');
    await expect(attempt([42])).rejects.toThrow('allowUnixSockets[0] = 42: expected a string path');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a refusal is reported as a violation naming the socket', async () => {
    const sock = path.join(f.O, 'v.sock');
    const l = await hostListener(sock);
    try {
      const r = await run(PY, ['-c', `import socket\ntry: socket.socket(socket.AF_UNIX).connect(${j(sock)})\nexcept OSError: pass`], {
        sandbox: f.sandbox,
      });
      expect(r.violations.map((v) => [v.op, v.path, v.errno])).toEqual([['connect', sock, 'EACCES']]);
    } finally {
      await l.close();
    }
  });
});

describe(`unix sockets that keep working (as ${userLabel})`, () => {
  let f: Fixture;
  beforeEach(() => {
    f = fixture();
  });
  afterEach(() => f.cleanup());

  it('a server and clients inside one sandbox (stream, seqpacket, abstract), socketpair, fd passing over sendmsg', async () => {
    const out = await py(
      `
import threading
srv = socket.socket(socket.AF_UNIX); srv.bind('db.sock'); srv.listen(8)
def serve():
    for _ in range(2):
        c, _ = srv.accept(); c.sendall(c.recv(10).upper()); c.close()
threading.Thread(target=serve).start()
for i in range(2):
    c = socket.socket(socket.AF_UNIX); c.connect(os.path.abspath('db.sock') if i else 'db.sock'); c.sendall(b'ping'); out['reply%d' % i] = c.recv(10).decode()
sp = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); sp.bind('sp.sock'); sp.listen(1)
cl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); cl.connect('sp.sock'); a, _ = sp.accept(); cl.send(b'rec'); out['seqpacket'] = a.recv(10).decode()
ab = socket.socket(socket.AF_UNIX); ab.bind('\\0sbx-inside-abstract'); ab.listen(1)
out['abstract'] = attempt(lambda: socket.socket(socket.AF_UNIX).connect('\\0sbx-inside-abstract'))
x, y = socket.socketpair(); x.sendall(b'pair'); out['socketpair'] = y.recv(10).decode()
r, w = os.pipe(); os.write(w, b'through'); socket.send_fds(x, [b'fd'], [r]); msg, fds, _, _ = socket.recv_fds(y, 10, 1)
out['fd passing'] = os.read(fds[0], 10).decode()
out['big sendmsg'] = x.sendmsg([b'z' * 300000]) if x.setblocking(False) is None else 0
`,
      f.sandbox,
      { cwd: f.repo },
    );
    expect(out.reply0).toBe('PING');
    expect(out.reply1).toBe('PING');
    expect(out).toMatchObject({ seqpacket: 'rec', abstract: 'ok', socketpair: 'pair', 'fd passing': 'through' });
    expect(out['big sendmsg']).toBeGreaterThan(0);
  });

  it('Python multiprocessing (a Manager listens on a unix socket) and Node net.createServer(path)', async () => {
    const mp = await run(
      PY,
      [
        '-c',
        `
import multiprocessing as mp
if __name__ == '__main__':
    with mp.Manager() as m:
        d = m.dict(); d['k'] = 'v'; print(d['k'])`,
      ],
      { sandbox: f.sandbox, cwd: f.repo, env: { ...process.env, TMPDIR: f.repo } },
    );
    expect([mp.code, mp.stdout.trim(), mp.stderr]).toEqual([0, 'v', '']);
    const node = await run(
      process.execPath,
      [
        '-e',
        `
const net = require('net');
const srv = net.createServer((c) => c.end('hi ' + c.remoteAddress)).listen('n.sock', () => {
  net.connect('n.sock').on('data', (d) => { console.log(String(d)); srv.close(); });
});`,
      ],
      { sandbox: f.sandbox, cwd: f.repo },
    );
    expect([node.code, node.stdout.trim(), node.stderr]).toEqual([0, 'hi undefined', '']);
  });

  it('stdio over sockets and an inherited connected socket keep working', async () => {
    const sock = path.join(f.O, 'inherited.sock');
    let got = '';
    const srv = net.createServer((c) =>
      c.on('data', (d) => {
        got += d;
      }),
    );
    await new Promise<void>((res) => srv.listen(sock, res));
    const client = net.connect(sock);
    await new Promise((res) => client.on('connect', res));
    try {
      // The caller's connected socket is fd 3: sending on it needs no address.
      const child = spawn(
        PY,
        ['-c', `import socket\ns = socket.socket(fileno=3); s.send(b'via fd 3'); s.sendmsg([b' and sendmsg'])\nprint('out')`],
        { sandbox: f.sandbox, stdio: ['ignore', 'pipe', 'pipe', (client as unknown as { _handle: { fd: number } })._handle.fd] },
      );
      let stdout = '',
        stderr = '';
      child.stdout!.on('data', (d) => {
        stdout += d;
      }); // stdout and stderr are socketpairs: stdio over sockets
      child.stderr!.on('data', (d) => {
        stderr += d;
      });
      const code = await new Promise((res) => child.on('close', res));
      expect([code, stdout, stderr]).toEqual([0, 'out\n', '']);
      await new Promise((res) => setTimeout(res, 100));
      expect(got).toBe('via fd 3 and sendmsg');
    } finally {
      client.destroy();
      await new Promise((res) => srv.close(res));
    }
  });

  for (const kind of ['unix', 'tcp'] as const) {
    it(`a ${kind} connect that blocks (a full backlog${kind === 'tcp' ? ', network: true: SYNs dropped for seconds' : ''}) does not stall the sandbox's other supervised calls`, async () => {
      const listen =
        kind === 'unix'
          ? `srv = socket.socket(socket.AF_UNIX); srv.bind('full.sock'); srv.listen(0); where = 'full.sock'; fam = socket.AF_UNIX`
          : `srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(0); where = srv.getsockname(); fam = socket.AF_INET`;
      const out = await py(
        `
import threading, time
${listen}
fill = []
for _ in range(3):
    c = socket.socket(fam); c.setblocking(False)
    try: c.connect(where)
    except OSError: pass
    fill.append(c)
time.sleep(0.2)
done = {}
def blocked():
    c = socket.socket(fam); c.connect(where); done['at'] = time.time()
t = threading.Thread(target=blocked); t.start(); time.sleep(0.3)
start = time.time()
os.mkdir('made-meanwhile'); other = socket.socket(socket.AF_UNIX); other.bind('other.sock'); other.listen(1)
socket.socket(socket.AF_UNIX).connect('other.sock')
out['others took'] = time.time() - start
out['still blocked'] = 'at' not in done
while 'at' not in done:
    srv.setblocking(False)
    try: srv.accept()
    except BlockingIOError: pass
    time.sleep(0.05)
t.join(); out['released'] = True`,
        { ...f.sandbox, network: kind === 'tcp' },
        { cwd: f.repo },
      );
      expect(out['still blocked']).toBe(true);
      expect(out['others took']).toBeLessThan(1);
      expect(out.released).toBe(true);
    });
  }

  it('network: true TCP: a blocking connect, a non-blocking one (EINPROGRESS, then poll, as Node does) and a refused one', async () => {
    let accepted = 0;
    const tcp = net.createServer((c) => {
      accepted++;
      c.on('error', () => {});
      c.end('tcp');
    });
    await new Promise<void>((res) => tcp.listen(0, '127.0.0.1', res));
    const port = (tcp.address() as net.AddressInfo).port;
    const closed = net.createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise((res) => closed.close(res));
    try {
      const out = await py(
        `
import select
c = socket.create_connection(('127.0.0.1', ${port})); out['blocking'] = c.recv(10).decode()
n = socket.socket(); n.setblocking(False)
out['nonblocking'] = attempt(lambda: n.connect(('127.0.0.1', ${port})))
select.select([], [n], [], 5); out['so_error'] = n.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
out['refused'] = attempt(lambda: socket.create_connection(('127.0.0.1', ${closedPort})))`,
        { ...f.sandbox, network: true },
      );
      expect(out).toEqual({ blocking: 'tcp', nonblocking: 'EINPROGRESS', so_error: 0, refused: 'ECONNREFUSED' });
      const node = await run(
        process.execPath,
        ['-e', `require('net').connect(${port}, '127.0.0.1').on('data', (d) => console.log(String(d)))`],
        { sandbox: { ...f.sandbox, network: true } },
      );
      expect([node.code, node.stdout.trim()]).toEqual([0, 'tcp']);
      expect(accepted).toBe(3);
    } finally {
      await new Promise((res) => tcp.close(res));
    }
  });
});
