// Network domain lists end to end: real curl, git and npm inside the sandbox
// reach local servers only through the sandbox's proxy (lib/proxy/), which
// runs outside its network namespace. Names resolve from the test-only
// SBX_NATIVE_TEST_HOSTS map, never by DNS (there is no internet here).
import { spawnSync } from 'child_process';
import fs from 'fs';
import net from 'net';
import path from 'path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync as sbxSpawnSync } from '../lib';
import type { SandboxPolicy } from '../lib/policy';
import { gitServer, npmRegistry, origin, Origin, originProcess, pypiIndex } from './proxy-servers';
import { installPyPIPackage, localToolWheel, systemPython } from './clients';
import { leftovers, repoRoot, rmTree, tempDir, userLabel } from './helpers';

const NAMES = [
  'ssh.proxy.test',
  'allowed.test',
  'other.test',
  'wild.test',
  'a.wild.test',
  'deny.wild.test',
  'ported.test',
  'x.rebind.test',
  'git.proxy.test',
  'registry.proxy.test',
  'pypi.proxy.test',
];
process.env.SBX_NATIVE_TEST_HOSTS = NAMES.map((n) => `${n}=127.0.0.1`).join(',');

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const CURL = 'curl -sS -m 10 -w " %{http_code}"';

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  network: Record<string, unknown>[];
  violations: Record<string, unknown>[];
}

function sbx(
  script: string,
  network: SandboxPolicy['network'],
  roots: string[] = [],
  more: SandboxPolicy = {},
  cwd?: string,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { cwd, sandbox: { ...more, writableRoots: roots, network } });
    const out: Outcome = { code: null, stdout: '', stderr: '', network: [], violations: [] };
    child.stdout!.on('data', (d) => {
      out.stdout += d;
    });
    child.stderr!.on('data', (d) => {
      out.stderr += d;
    });
    child.on('network', (e) => out.network.push(e));
    child.on('violation', (v) => out.violations.push(v));
    child.on('error', reject);
    child.on('close', (code) => {
      out.code = code;
      resolve(out);
    });
  });
}

/** A raw client inside the sandbox: writes `data` to the proxy at `port`, prints what comes back. */
const raw = (port: number, data: string) =>
  `node -e 'const s = require("net").connect(${port}, "127.0.0.1"); let b = ""; s.on("data", (d) => b += d); s.on("close", () => process.stdout.write(b)); s.on("error", (e) => process.stdout.write(e.code)); s.write(Buffer.from(process.argv[1], "base64")); setTimeout(() => s.end(), 1500)' ${Buffer.from(data).toString('base64')}`;

describe(`network domain lists through the proxy (as ${userLabel})`, () => {
  let web: Origin;
  let P = 0;
  const allow: SandboxPolicy['network'] = { allowedDomains: ['allowed.test'] };
  beforeAll(async () => {
    web = await origin();
    P = web.port;
  });
  afterAll(() => web.close());

  it.skipIf(!has('curl'))(
    'curl over plain HTTP, CONNECT and SOCKS5h reaches an allowed name; each attempt is a network event',
    async () => {
      const r = await sbx(
        `${CURL} http://allowed.test:${P}/plain; echo; ${CURL} -p http://allowed.test:${P}/tunnel; echo; ${CURL} --socks5-hostname 127.0.0.1:1080 http://allowed.test:${P}/socks`,
        allow,
      );
      expect(r.stdout.split('\n')).toEqual(['hello /plain 200', 'hello /tunnel 200', 'hello /socks 200']);
      expect(r.network).toEqual(
        Array.from({ length: 3 }, (_, i) => ({
          op: 'connect',
          path: `allowed.test:${P}`,
          host: 'allowed.test',
          port: P,
          rule: 'allowedDomains "allowed.test"',
          count: i + 1,
        })),
      );
      expect(r.violations).toEqual([]);
    },
  );

  it.skipIf(!has('curl'))("the caller's own proxy variables are replaced: they would lead nowhere inside", async () => {
    const child = spawn(
      '/bin/sh',
      ['-c', `echo "$https_proxy $npm_config_proxy \${FTP_PROXY-unset}"; ${CURL} https://allowed.test:${P}/ -o /dev/null`],
      {
        env: {
          ...process.env,
          https_proxy: 'http://corp.example:8080',
          npm_config_proxy: 'http://corp.example:8080',
          FTP_PROXY: 'http://corp.example:21',
        },
        sandbox: { writableRoots: [], network: allow },
      },
    );
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    const events: unknown[] = [];
    child.on('network', (e) => events.push(e.path));
    await new Promise((res) => child.on('close', res));
    // The tunnel reached the origin (which speaks plain HTTP, so TLS fails: 000), through our proxy.
    expect(out).toBe('http://127.0.0.1:3128 http://127.0.0.1:3128 unset\n 000');
    expect(events).toEqual([`allowed.test:${P}`]);
  });

  it.skipIf(!has('curl'))('large transfers arrive whole through the spliced tunnels and the plain proxy', async () => {
    const sum = require('crypto')
      .createHash('sha256')
      .update(Buffer.alloc(64 << 20, 120))
      .digest('hex');
    const r = await sbx(
      ['-p', '--socks5-hostname 127.0.0.1:1080', '']
        .map((via) => `curl -sS -m 60 ${via} http://allowed.test:${P}/big | sha256sum | cut -d' ' -f1`)
        .join('; '),
      allow,
    );
    expect(r.stdout.trim().split('\n')).toEqual([sum, sum, sum]);
  });

  it.skipIf(!has('curl'))('a refused name gets 403 saying which rule, the server sees nothing, and it is a violation', async () => {
    const before = web.seen.length;
    const r = await sbx(
      `${CURL} http://other.test:${P}/a; echo; ${CURL} -p http://other.test:${P}/b; echo " rc=$?"; ${CURL} --socks5-hostname 127.0.0.1:1080 http://other.test:${P}/c; echo " rc=$?"; ${raw(3128, `CONNECT other.test:${P} HTTP/1.1\r\nHost: other.test\r\n\r\n`)}`,
      allow,
    );
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`sbx-native: other.test:${P} refused: not in allowedDomains\n 403`.split('\n')[0]);
    expect(lines[1]).toBe(' 403');
    expect(lines[2]).toMatch(/^ 000 rc=56$/); // curl: CONNECT tunnel failed, response 403
    expect(r.stderr).toMatch(/CONNECT tunnel failed, response 403/);
    expect(lines[3]).toMatch(/^ 000 rc=97$/); // SOCKS5 reply 2: not allowed by ruleset
    expect(r.stdout).toContain(`HTTP/1.1 403 Forbidden\r\n`);
    expect(r.stdout).toContain(`sbx-native: other.test:${P} refused: not in allowedDomains`);
    expect(web.seen.length).toBe(before);
    expect(r.violations).toEqual([
      { op: 'connect', path: `other.test:${P}`, host: 'other.test', port: P, rule: 'not in allowedDomains', count: 1, errno: 'EACCES' },
    ]);
    expect(r.network).toEqual([]);
  });

  it('direct TCP to the host loopback, bypassing the proxy, is refused; there is no DNS inside', async () => {
    const r = await sbx(
      `node -e 'const s = require("net").connect(${P}, "127.0.0.1"); s.on("connect", () => console.log("connected")); s.on("error", (e) => console.log(e.code)); require("dns").lookup("allowed.test", (e) => console.log(e ? e.code : "resolved"))'; cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "`,
      allow,
    );
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines).toContain('ECONNREFUSED');
    expect(lines.filter((l) => l !== 'lo' && l !== 'ECONNREFUSED')).toEqual([expect.stringMatching(/^(EAI_AGAIN|ENOTFOUND)$/)]);
    expect(lines.filter((l) => l === 'lo')).toEqual(['lo']);
  });

  it.skipIf(!has('curl'))('wildcards, the apex, ports and deniedDomains', async () => {
    const net4: SandboxPolicy['network'] = {
      allowedDomains: ['*.wild.test', `ported.test:${P}`, 'x.rebind.test:1'],
      deniedDomains: ['deny.wild.test'],
    };
    const r = await sbx(
      ['a.wild.test', 'wild.test', 'deny.wild.test', 'ported.test']
        .map((h) => `${CURL} -o /dev/null http://${h}:${P}/; echo " ${h}"`)
        .join('; '),
      net4,
    );
    r.stdout = r.stdout.replace(/^ /, '');
    // a.wild.test matches *.wild.test but resolves to loopback: a wildcard never admits a local address.
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => l.trim()),
    ).toEqual(['403 a.wild.test', '403 wild.test', '403 deny.wild.test', '200 ported.test']);
    const rules = Object.fromEntries(r.violations.map((v) => [v.host, v.rule]));
    expect(rules).toEqual({
      'a.wild.test': 'resolves to 127.0.0.1, a local, private or metadata address (list the exact name or address to reach it)',
      'wild.test': 'not in allowedDomains',
      'deny.wild.test': 'deniedDomains "deny.wild.test"',
    });
    const other = await sbx(`${CURL} -o /dev/null http://ported.test:${P + 1}/`, net4);
    expect(other.stdout.trim()).toBe('403');
  });

  it.skipIf(!has('curl'))('IP literals only when listed; a private address only for the exact name or that address', async () => {
    const via = `--noproxy "" -x http://127.0.0.1:3128`;
    const listed = await sbx(
      `${CURL} ${via} -o /dev/null http://127.0.0.1:${P}/; ${CURL} ${via} -o /dev/null http://127.0.0.2:${P}/; ${CURL} ${via} -p -o /dev/null http://[::ffff:127.0.0.1]:${P}/; ${CURL} ${via} -o /dev/null http://0.0.0.0:${P}/`,
      { allowedDomains: [`127.0.0.1:${P}`] },
    );
    expect(listed.stdout.trim()).toBe('200 403 200 403');
    const none = await sbx(`${CURL} ${via} -o /dev/null http://127.0.0.1:${P}/; ${CURL} -o /dev/null http://x.rebind.test:${P}/`, {
      deniedDomains: ['nothing.test'],
    });
    expect(none.stdout.trim()).toBe('403 403');
    expect(none.violations.map((v) => v.rule)).toEqual([
      'an IP address is reached only when allowedDomains lists it',
      expect.stringMatching(/^resolves to 127\.0\.0\.1, a local/),
    ]);
    const byAddress = await sbx(`${CURL} -o /dev/null http://x.rebind.test:${P}/`, { allowedDomains: ['*.rebind.test', '127.0.0.1'] });
    expect(byAddress.stdout.trim()).toBe('200');
  });

  it('every request on a kept-alive proxy connection is checked', async () => {
    const before = web.seen.length;
    const two = `GET http://allowed.test:${P}/first HTTP/1.1\r\nHost: allowed.test\r\n\r\nGET http://other.test:${P}/second HTTP/1.1\r\nHost: allowed.test:${P}\r\n\r\n`;
    const r = await sbx(raw(3128, two), allow);
    expect(r.stdout).toMatch(
      /^HTTP\/1\.1 200 OK[\s\S]*hello \/first[\s\S]*HTTP\/1\.1 403 Forbidden[\s\S]*other\.test:\d+ refused: not in allowedDomains/,
    );
    expect(web.seen.slice(before)).toEqual([`GET allowed.test:${P} /first`]);
  });

  it('reads request heads in pieces, keeps the bytes after them, and answers bad or oversized heads with 400', async () => {
    const before = web.seen.length;
    // Each exchange: the pieces a client writes (a pause between them), then what it read until the proxy closed, or 1.5 s.
    const exchanges = [
      [
        `CONN`,
        `ECT allowed.test:${P} HTTP/1.1\r\nHost: x\r\n`,
        `\r\nGET /early HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n`,
      ],
      [`CONNECT allowed.test:${P} HTTP/1.1\r\nno colon here\r\n\r\n`],
      [`CONNECT allowed.test:${P} HTTP/1.1\r\nX: ${'a'.repeat(17000)}\r\n\r\n`],
      [`CONNECT allowed.te`], // gone before the head is whole
      [`GE`, `T http://allowed.test:${P}/plain2 HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n`],
    ];
    const script = `
      const net = require("net");
      const one = (pieces) => new Promise((done) => {
        const s = net.connect(3128, "127.0.0.1");
        let b = "";
        s.on("data", (d) => (b += d));
        s.on("error", (e) => (b += e.code));
        const t = setTimeout(() => { s.destroy(); done(b); }, 1500);
        s.on("close", () => { clearTimeout(t); done(b); });
        pieces.reduce((p, x) => p.then(() => new Promise((r) => setTimeout(() => { s.write(x); r(); }, 50))), Promise.resolve())
          .then(() => { if (pieces.length === 1 && !pieces[0].includes("\\r\\n\\r\\n")) s.destroy(); });
      });
      (async () => { for (const x of JSON.parse(process.argv[1])) console.log(JSON.stringify(await one(x))); })();`;
    const r = await sbx(`node -e '${script}' '${JSON.stringify(exchanges)}'`, allow);
    const answers = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string);
    expect(answers).toHaveLength(5);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 OK[\s\S]*hello \/early$/);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 400 Bad Request[\s\S]*sbx-native: not a header field: "no colon here"\n$/);
    expect(answers[2]).toMatch(/^HTTP\/1\.1 400 Bad Request[\s\S]*sbx-native: the request head is over 16384 bytes\n$/);
    expect(answers[3]).toBe('');
    expect(answers[4]).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*hello \/plain2$/);
    // Only the two whole requests were decided (and reached the origin); the bad heads never were.
    expect(web.seen.slice(before)).toEqual([`GET allowed.test /early`, `GET allowed.test:${P} /plain2`]);
    expect(r.network.map((e) => e.path)).toEqual([`allowed.test:${P}`, `allowed.test:${P}`]);
    expect(r.violations).toEqual([]);
  });

  // The origin must not be this process: its event loop is blocked too.
  it.skipIf(!has('curl'))('keeps serving while the caller is blocked in spawnSync, and its result lists the refusals', async () => {
    const other = await originProcess();
    try {
      const r = sbxSpawnSync(
        '/bin/sh',
        [
          '-c',
          `${CURL} http://allowed.test:${other.port}/sync; for i in 1 2 3; do ${CURL} -o /dev/null http://other.test:${other.port}/x; done`,
        ],
        { sandbox: { writableRoots: [], network: allow }, encoding: 'utf8' },
      );
      expect(r.stdout).toBe('hello /sync 200 403 403 403');
      // The refusals are on the result, as spawn()'s child.violations.
      expect(r.violations).toEqual([
        {
          op: 'connect',
          path: `other.test:${other.port}`,
          host: 'other.test',
          port: other.port,
          rule: 'not in allowedDomains',
          count: 3,
          errno: 'EACCES',
        },
      ]);
      expect(r.violationsDropped).toBe(0);
    } finally {
      other.kill();
    }
  });

  it.skipIf(!has('git'))('git clone over http from git http-backend through the proxy', async () => {
    const dir = tempDir();
    const server = await gitServer(dir);
    try {
      const dest = path.join(dir, 'dest');
      fs.mkdirSync(dest);
      const r = await sbx(
        `HOME=${dest} git clone -q http://git.proxy.test:${server.port}/repo.git ${dest}/clone && cat ${dest}/clone/README`,
        { allowedDomains: ['git.proxy.test'] },
        [dest],
        { allowGitWrites: true }, // a clone is a new repository: refused by the repository model otherwise (policy.md)
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('served through the proxy\n');
      expect(server.seen.length).toBeGreaterThanOrEqual(2);
      expect(server.seen.every((s) => s.includes(`git.proxy.test:${server.port}`))).toBe(true);
    } finally {
      await server.close();
      rmTree(dir);
    }
  });

  it.skipIf(!has('git') || !has('ssh'))(
    'git over ssh goes through the helper as ProxyCommand (no socat); a refused host says why',
    async () => {
      const banners: string[] = [];
      const server = net.createServer((c) => {
        c.on('error', () => {});
        c.write('SSH-2.0-sbxtest\r\n');
        c.once('data', (d) => {
          banners.push(String(d).split('\r\n')[0]);
          c.destroy();
        });
      });
      const port = await new Promise<number>((res) => server.listen(0, '127.0.0.1', () => res((server.address() as net.AddressInfo).port)));
      try {
        const r = await sbx(
          `git ls-remote ssh://git@ssh.proxy.test:${port}/repo.git; git ls-remote ssh://git@other.test:${port}/repo.git; true`,
          { allowedDomains: ['ssh.proxy.test'] },
        );
        expect(banners).toEqual([expect.stringMatching(/^SSH-2\.0-OpenSSH/)]);
        expect(r.network.map((e) => e.path)).toEqual([`ssh.proxy.test:${port}`]);
        expect(r.stderr).toContain(
          `sbx-native: the proxy refused other.test:${port}: HTTP/1.1 403 Forbidden\nsbx-native: other.test:${port} refused: not in allowedDomains`,
        );
        expect(r.violations.map((v) => v.path)).toEqual([`other.test:${port}`]);
      } finally {
        server.close();
      }
    },
  );

  it('npm install from a local registry through the proxy', async () => {
    const dir = tempDir();
    const reg = await npmRegistry(dir);
    try {
      const proj = path.join(dir, 'proj');
      fs.mkdirSync(proj);
      fs.writeFileSync(path.join(proj, 'package.json'), '{"name":"p","version":"1.0.0"}');
      const npm = path.join(path.dirname(process.execPath), 'npm');
      const r = await sbx(
        `HOME=${proj} ${npm} install --no-audit --no-fund --no-update-notifier --registry http://registry.proxy.test:${reg.port}/ --cache ${proj}/.npm sbx-proxy-probe >/dev/null && node -p 'require("sbx-proxy-probe")'`,
        { allowedDomains: ['registry.proxy.test'] },
        [proj],
        {},
        proj,
      );
      expect([r.code, r.stdout]).toEqual([0, 'installed through the proxy\n']);
      expect(reg.seen.map((s) => s.split(' ')[2])).toEqual([
        '/sbx-proxy-probe',
        expect.stringMatching(/^\/sbx-proxy-probe\/-\/sbx-proxy-probe-1\.0\.0\.tgz$/),
      ]);
    } finally {
      await reg.close();
      rmTree(dir);
    }
  });

  it('pip and uv install from a local package index through the proxy (HTTP_PROXY, PIP_PROXY)', async (ctx) => {
    const wheel = localToolWheel('sbxhello', '1.0.0', 'sbx-hello', 'hello from a local tool');
    const uvPkg = installPyPIPackage('uv', '0.13.9');
    if ('why' in wheel || 'why' in uvPkg || !fs.existsSync(systemPython)) {
      // A missing client is said and the test skipped (CI installs them, test/clients.ts).
      return ctx.skip(`${'why' in wheel ? wheel.why : 'why' in uvPkg ? uvPkg.why : `no ${systemPython}`}`);
    }
    const dir = tempDir();
    const cache = tempDir(); // uv's cache, a root of its own as in test/uv.test.ts
    const index = await pypiIndex(wheel.dir);
    try {
      const url = `http://pypi.proxy.test:${index.port}/simple/`;
      const load = (t: string) => `${systemPython} -c 'import sys; sys.path.insert(0, "${t}"); import sbxhello; sbxhello.main()'`;
      const r = await sbx(
        [
          `HOME=${dir} PIP_ROOT_USER_ACTION=ignore ${systemPython} -m pip install -q --no-cache-dir --disable-pip-version-check --no-deps --target ${dir}/pip --index-url ${url} --trusted-host pypi.proxy.test sbxhello`,
          load(`${dir}/pip`),
          `HOME=${dir} UV_CACHE_DIR=${cache} UV_NO_CONFIG=1 UV_PYTHON_DOWNLOADS=never ${uvPkg.dir}/bin/uv pip install -q --no-deps --python ${systemPython} --target ${dir}/uv --index-url ${url} sbxhello`,
          load(`${dir}/uv`),
        ].join(' && '),
        { allowedDomains: ['pypi.proxy.test'] },
        [dir, cache],
        { allowGitWrites: true }, // uv marks its new cache's directories with empty .git files: a new .git is refused otherwise (policy.md)
      );
      expect([r.code, r.stdout], r.stderr).toEqual([0, 'hello from a local tool\nhello from a local tool\n']);
      // Both asked by the name, through the proxy: the index page, then the wheel, each.
      const asked = index.seen.map((x) => x.replace(/ \/files\/.*/, ' /files/'));
      expect(asked.filter((x) => x.endsWith('/simple/sbxhello/'))).toHaveLength(2);
      expect(asked.filter((x) => x.endsWith('/files/'))).toHaveLength(2);
      expect(index.seen.every((x) => x.includes(` pypi.proxy.test:${index.port} `))).toBe(true);
      expect(r.network.map((e) => e.host)).toEqual(expect.arrayContaining(['pypi.proxy.test']));
      expect(r.violations).toEqual([]);
    } finally {
      await index.close();
      rmTree(dir);
      rmTree(cache);
    }
  }, 180_000);

  it.skipIf(!has('curl'))(
    'the CLI: a sandbox-runtime settings file with a domain list runs; refusals are in the blocked summary',
    async () => {
      const dir = tempDir();
      const { port: P, kill } = await originProcess();
      try {
        const f = path.join(dir, 'srt.json');
        fs.writeFileSync(
          f,
          JSON.stringify({ filesystem: { allowWrite: [] }, network: { allowedDomains: ['allowed.test'], deniedDomains: [] } }),
        );
        const bin = path.join(repoRoot, 'bin', 'sbx-native.js');
        const r = spawnSync(
          process.execPath,
          [bin, 'exec', '--config', f, '--', 'sh', '-c', `${CURL} http://allowed.test:${P}/cli; ${CURL} http://other.test:${P}/cli`],
          { cwd: dir, encoding: 'utf8' },
        );
        expect(r.stdout).toBe(`hello /cli 200sbx-native: other.test:${P} refused: not in allowedDomains\n 403`);
        expect(r.stderr).toContain(`sbx-native: blocked: connect other.test:${P}: EACCES, not in allowedDomains`);
        const flags = spawnSync(
          process.execPath,
          [bin, 'exec', '--no-config', '--allow-domain', 'allowed.test', '--', 'sh', '-c', `${CURL} http://allowed.test:${P}/flag`],
          { cwd: dir, encoding: 'utf8' },
        );
        expect(flags.stdout).toBe('hello /flag 200');
        const both = spawnSync(process.execPath, [bin, 'exec', '--network', '--allow-domain', 'allowed.test', '--', 'true'], {
          cwd: dir,
          encoding: 'utf8',
        });
        expect([both.status, both.stderr]).toEqual([2, expect.stringMatching(/--network and --allow-domain contradict each other/)]);
      } finally {
        kill();
        rmTree(dir);
      }
    },
  );

  it('leaves nothing: no proxy process after the command ends or is killed, nothing listening on the host', async () => {
    const marker = `sbx-leftover-${process.pid}-${Date.now()}.test`;
    const policy = { writableRoots: [], network: { allowedDomains: ['allowed.test', marker] } };
    const hostListeners = () =>
      fs
        .readFileSync('/proc/net/tcp', 'utf8')
        .split('\n')
        .filter((l) => / 0A /.test(l) && /:(0C38|0438) /.test(l.split(/\s+/)[2] ?? ''));
    const child = spawn('/bin/sh', ['-c', 'echo up; sleep 30'], { sandbox: policy });
    await new Promise<void>((res) => child.stdout!.once('data', () => res()));
    expect(leftovers('/nonexistent', marker)).toHaveLength(1); // the proxy, while the command runs
    expect(hostListeners()).toEqual([]);
    child.kill('SIGKILL');
    await new Promise<void>((res) => child.on('close', () => res()));
    for (let i = 0; i < 50 && leftovers('/nonexistent', marker).length; i++) await new Promise((res) => setTimeout(res, 20));
    expect(leftovers('/nonexistent', marker)).toEqual([]);
    const done = await sbx('true', { allowedDomains: [marker] });
    expect(done.code).toBe(0);
    expect(leftovers('/nonexistent', marker)).toEqual([]);
  });

  it('fails closed: a proxy that cannot start fails the setup and the command never runs', async () => {
    const dir = tempDir();
    const flag = path.join(dir, 'ran');
    const steps = (await import('../lib'))
      .prepare('/bin/sh', ['-c', `touch ${flag}`], { sandbox: { writableRoots: [dir], network: allow } })
      .plan.steps.map((s) => s.op);
    process.env.SBX_NATIVE_TEST_FAIL_STEP = String(steps.indexOf('proxy_ready'));
    try {
      const err = await new Promise<NodeJS.ErrnoException & { step?: string }>((resolve) => {
        const c = spawn('/bin/sh', ['-c', `touch ${flag}`], { sandbox: { writableRoots: [dir], network: allow } });
        c.on('error', resolve);
      });
      expect([err.code, err.step]).toEqual(['SBX_SETUP_FAILED', 'proxy_ready']);
      expect(fs.existsSync(flag)).toBe(false);
    } finally {
      delete process.env.SBX_NATIVE_TEST_FAIL_STEP;
      rmTree(dir);
    }
  });
});
