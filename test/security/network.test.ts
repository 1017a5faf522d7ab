// Attack class: the network with networking off (the default): a private
// network namespace with only loopback. Host listeners on TCP, UDP, MPTCP,
// TCP Fast Open, IPv6, abstract and pathname unix sockets; raw, packet and
// vsock sockets; netlink changes to the interfaces.
import { spawn as cpSpawn } from 'child_process';
import dgram from 'dgram';
import fs from 'fs';
import net from 'net';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../lib';
import { readMountInfo } from '../../lib/mountinfo';
import { buildPlan } from '../../lib/plan';
import { resolvePolicy } from '../../lib/policy';
import { FS } from '../../lib/uapi';
import { userLabel } from '../helpers';
import { Fixture, fixture, j, PY, py } from './lib';

describe(`network off (as ${userLabel})`, () => {
  let f: Fixture;
  let tcp: net.Server, tcpPort: number, accepted: number;
  beforeEach(async () => {
    f = fixture();
    accepted = 0;
    tcp = net.createServer((c) => {
      accepted++;
      c.end();
    });
    await new Promise<void>((res) => tcp.listen(0, '127.0.0.1', res));
    tcpPort = (tcp.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    await new Promise((res) => tcp.close(res));
    f.cleanup();
  });
  const attack = async (body: string) => {
    const before = f.state();
    const out = await py(body, f.sandbox);
    expect(f.state()).toEqual(before);
    expect(accepted).toBe(0);
    return out;
  };

  it('TCP connect to a host listener on 127.0.0.1 (ECONNREFUSED) and to an outside address (ENETUNREACH)', async () => {
    expect(
      await attack(`
out['lo'] = attempt(lambda: socket.create_connection(('127.0.0.1', ${tcpPort}), timeout=2))
out['outside'] = attempt(lambda: socket.create_connection(('192.0.2.1', 80), timeout=2))`),
    ).toEqual({ lo: 'ECONNREFUSED', outside: 'ENETUNREACH' });
  });

  it('TCP Fast Open (sendto MSG_FASTOPEN) and MPTCP connect to the host listener (ECONNREFUSED)', async () => {
    expect(
      await attack(`
def tfo():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.sendto(b'GET /', 0x20000000, ('127.0.0.1', ${tcpPort}))
    s.recv(10)
out['tfo'] = attempt(tfo)
def mptcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
    s.connect(('127.0.0.1', ${tcpPort}))
out['mptcp'] = attempt(mptcp)`),
    ).toEqual({ tfo: 'ECONNREFUSED', mptcp: 'ECONNREFUSED' });
  });

  it('IPv6 ::1 and v4-mapped connect to the host (ECONNREFUSED / ENETUNREACH)', async () => {
    expect(
      await attack(`
out['v6'] = attempt(lambda: socket.create_connection(('::1', ${tcpPort}), timeout=2))
out['outside v6'] = attempt(lambda: socket.create_connection(('2001:db8::1', 80), timeout=2))`),
    ).toEqual({ v6: 'ECONNREFUSED', 'outside v6': 'ENETUNREACH' });
  });

  it('UDP datagrams to a host socket on 127.0.0.1 never arrive (the send goes to the private loopback)', async () => {
    const udp = dgram.createSocket('udp4');
    let got = 0;
    udp.on('message', () => got++);
    await new Promise<void>((res) => udp.bind(0, '127.0.0.1', res));
    const port = udp.address().port;
    const out = await attack(`
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out['send'] = attempt(lambda: s.sendto(b'x' * 10, ('127.0.0.1', ${port})))
s.connect(('127.0.0.1', ${port})); s.send(b'y'); s.settimeout(1)
out['recv'] = attempt(lambda: s.recv(10))`);
    await new Promise((res) => setTimeout(res, 200));
    udp.close();
    expect(out).toEqual({ send: 'ok', recv: 'ECONNREFUSED' });
    expect(got).toBe(0);
  });

  it('SCTP to the host (not reachable: EPROTONOSUPPORT or ECONNREFUSED)', async () => {
    const out = await attack(
      `out['sctp'] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132).connect(('127.0.0.1', ${tcpPort})))`,
    );
    expect(['EPROTONOSUPPORT', 'ECONNREFUSED']).toContain(out.sctp);
  });

  it('raw IP, ICMP raw and packet sockets (EPERM: no CAP_NET_RAW)', async () => {
    expect(
      await attack(`
out['raw'] = attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP))
out['raw6'] = attempt(lambda: socket.socket(socket.AF_INET6, socket.SOCK_RAW, 58))
out['packet'] = attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0x0300))
out['packet dgram'] = attempt(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0x0300))`),
    ).toEqual({ raw: 'EPERM', raw6: 'EPERM', packet: 'EPERM', 'packet dgram': 'EPERM' });
  });

  it('AF_VSOCK to the hypervisor (EAFNOSUPPORT from the filter)', async () => {
    expect(
      await attack(`
out['stream'] = attempt(lambda: socket.socket(40, socket.SOCK_STREAM))
out['dgram'] = attempt(lambda: socket.socket(40, socket.SOCK_DGRAM))`),
    ).toEqual({ stream: 'EAFNOSUPPORT', dgram: 'EAFNOSUPPORT' });
  });

  // Node cannot listen on an abstract name, so the host listener is Python.
  async function abstractListener(name: string): Promise<{ accepted: () => number; close: () => void }> {
    const srv = cpSpawn(
      PY,
      [
        '-c',
        `import socket
s = socket.socket(socket.AF_UNIX); s.bind("\\0" + ${j(name)}); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept(); print("accepted", flush=True); c.close()`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    await new Promise<void>((res) =>
      srv.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('ready')) res();
      }),
    );
    return { accepted: () => out.split('accepted').length - 1, close: () => srv.kill('SIGKILL') };
  }
  const connectAbstract = (name: string) => `out['r'] = attempt(lambda: socket.socket(socket.AF_UNIX).connect("\\0" + ${j(name)}))`;

  it('an abstract unix socket the host listens on (ECONNREFUSED: abstract names are per network namespace)', async () => {
    const name = `sbx-sec-${process.pid}-${Date.now()}`;
    const srv = await abstractListener(name);
    try {
      const reach = await py(connectAbstract(name), { mode: 'full', network: true });
      expect(reach).toEqual({ r: 'ok' }); // the listener works: without isolation it is reachable
      expect(await attack(connectAbstract(name))).toEqual({ r: 'ECONNREFUSED' });
      expect(srv.accepted()).toBe(1);
    } finally {
      srv.close();
    }
  });

  it('with network: true, a host abstract unix socket is still refused (EPERM: Landlock scope, ABI 6+)', async () => {
    const name = `sbx-sec-${process.pid}-${Date.now()}-net`;
    const srv = await abstractListener(name);
    try {
      const out = await py(
        `${connectAbstract(name)}
def inside():
    a = socket.socket(socket.AF_UNIX); a.bind("\\0inside-" + ${j(name)}); a.listen(1)
    socket.socket(socket.AF_UNIX).connect("\\0inside-" + ${j(name)})
out['inside'] = attempt(inside)`,
        { ...f.sandbox, network: true },
      );
      expect(out).toEqual({ r: 'EPERM', inside: 'ok' }); // sockets made inside the sandbox still work
      expect(srv.accepted()).toBe(0);
    } finally {
      srv.close();
    }
  });

  // Daemon sockets where the environment says they are (ssh-agent, D-Bus, docker) are hidden.
  for (const [label, envFor] of [
    ['ssh-agent ($SSH_AUTH_SOCK in /tmp/ssh-XXXX)', (dir: string, sock: string) => ({ SSH_AUTH_SOCK: sock })],
    [
      'the D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS)',
      (dir: string, sock: string) => ({ DBUS_SESSION_BUS_ADDRESS: `unix:path=${sock},guid=1` }),
    ],
    ['a user daemon in $XDG_RUNTIME_DIR (rootless docker)', (dir: string) => ({ XDG_RUNTIME_DIR: dir })],
    ['docker ($DOCKER_HOST=unix://...)', (dir: string, sock: string) => ({ DOCKER_HOST: `unix://${sock}` })],
  ] as const) {
    // A hidden directory makes the socket vanish (ENOENT); a socket hidden by itself becomes an empty read-only file (EACCES).
    const expected = label.includes('D-Bus') || label.includes('DOCKER_HOST') ? 'EACCES' : 'ENOENT';
    it(`the pathname unix socket of ${label} is not connectable (${expected}) and stays on the host`, async () => {
      const dir = path.join(f.O, label.includes('ssh') ? 'ssh-Xq3' : 'run');
      fs.mkdirSync(dir, { recursive: true });
      const sock = path.join(dir, 'agent.sock');
      const srv = net.createServer((c) => {
        accepted++;
        c.end();
      });
      await new Promise<void>((res) => srv.listen(sock, res));
      fs.chmodSync(sock, 0o600);
      try {
        const out = await py(`out['r'] = attempt(lambda: socket.socket(socket.AF_UNIX).connect(${j(sock)}))`, f.sandbox, {
          env: { ...process.env, ...envFor(dir, sock) },
        });
        expect(out.r).toBe(expected);
        expect(accepted).toBe(0);
        expect(fs.statSync(sock).isSocket()).toBe(true);
        // network: true does not reach it either (a socket the sandbox did not bind: EACCES, test/security/unix-sockets.test.ts);
        // allowUnixSockets is the caller's explicit permission, and then it is not hidden.
        const net = await py(
          `out['r'] = attempt(lambda: socket.socket(socket.AF_UNIX).connect(${j(sock)}))`,
          { ...f.sandbox, network: true },
          { env: { ...process.env, ...envFor(dir, sock) } },
        );
        expect(net.r).toBe('EACCES');
        expect(accepted).toBe(0);
        const open = await py(
          `out['r'] = attempt(lambda: socket.socket(socket.AF_UNIX).connect(${j(sock)}))`,
          { ...f.sandbox, allowUnixSockets: [sock] },
          { env: { ...process.env, ...envFor(dir, sock) } },
        );
        expect(open.r).toBe('ok');
      } finally {
        await new Promise((res) => srv.close(res));
      }
    });
  }

  it('the plan: at Landlock ABI 9 RESOLVE_UNIX is handled and granted only on allowUnixSockets (never on the roots or /, whatever network says)', () => {
    const allowed = path.join(f.O, 'allowed');
    fs.mkdirSync(allowed);
    const plan = (network: boolean, abi: number) =>
      buildPlan({
        policy: resolvePolicy({ writableRoots: [f.repo], network, tmp: 'none', allowUnixSockets: [allowed] }, f.repo, {}),
        file: '/bin/true',
        argv: ['true'],
        env: [],
        cwd: f.repo,
        uid: 1000,
        gid: 1000,
        landlockAbi: abi,
        mounts: readMountInfo(),
        exists: fs.existsSync,
      }).steps;
    const rights = (steps: { op: string; args: string[] }[], p: string) =>
      BigInt(steps.find((s) => s.op === 'landlock_path' && s.args[0] === p)!.args[1]);
    const handled = (steps: { op: string; args: string[] }[]) => BigInt(steps.find((s) => s.op === 'landlock_create')!.args[0]);
    for (const network of [false, true]) {
      const nine = plan(network, 9);
      expect(handled(nine) & FS.RESOLVE_UNIX).toBe(FS.RESOLVE_UNIX);
      expect(rights(nine, f.repo) & FS.RESOLVE_UNIX).toBe(0n);
      expect(rights(nine, '/') & FS.RESOLVE_UNIX).toBe(0n);
      expect(rights(nine, allowed)).toBe(FS.RESOLVE_UNIX);
      const seven = plan(network, 7);
      expect(handled(seven) & FS.RESOLVE_UNIX).toBe(0n); // an older kernel would refuse an unknown right
      expect(seven.some((s) => s.op === 'landlock_path' && s.args[0] === allowed)).toBe(false);
    }
  });

  it('a socket in an arbitrary place the user can write: EACCES with the network off and on (init checks every connect)', async () => {
    const sock = path.join(f.O, 'random.sock');
    const srv = net.createServer((c) => {
      accepted++;
      c.end();
    });
    await new Promise<void>((res) => srv.listen(sock, res));
    try {
      const out = await py(`out['r'] = attempt(lambda: socket.socket(socket.AF_UNIX).connect(${j(sock)}))`, f.sandbox);
      expect(out.r).toBe('EACCES');
      const open = await py(`out['r'] = attempt(lambda: socket.socket(socket.AF_UNIX).connect(${j(sock)}))`, {
        ...f.sandbox,
        network: true,
      });
      expect(open.r).toBe('EACCES');
      expect(accepted).toBe(0);
    } finally {
      await new Promise((res) => srv.close(res));
    }
  });

  it('netlink: adding an interface or an address and setting lo down (EPERM); reading works', async () => {
    const before = f.state();
    const add = await run('/bin/ip', ['link', 'add', 'sbx0', 'type', 'dummy'], { sandbox: f.sandbox });
    const addr = await run('/bin/ip', ['addr', 'add', '10.9.9.9/24', 'dev', 'lo'], { sandbox: f.sandbox });
    const down = await run('/bin/ip', ['link', 'set', 'lo', 'down'], { sandbox: f.sandbox });
    const show = await run('/bin/ip', ['-o', 'addr', 'show', 'lo'], { sandbox: f.sandbox });
    expect([add.code, add.stderr.trim()]).toEqual([2, 'RTNETLINK answers: Operation not permitted']);
    expect([addr.code, addr.stderr.trim()]).toEqual([2, 'RTNETLINK answers: Operation not permitted']);
    expect([down.code, down.stderr.trim()]).toEqual([2, 'RTNETLINK answers: Operation not permitted']);
    expect(show.stdout).toMatch(/inet 127\.0\.0\.1\/8/);
    expect(f.state()).toEqual(before);
    expect(fs.readFileSync('/proc/net/dev', 'utf8')).not.toMatch(/sbx0/);
  });
});
