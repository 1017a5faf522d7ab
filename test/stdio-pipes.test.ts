// Inherited stdio that the Node parent has touched (and so made non-blocking)
// must reach the command blocking, as libuv does for child_process: slow
// readers and writers on pipes, sockets and files, through the library and
// the CLI. Every scenario runs through child_process too, as the peer.
import { spawn as cpSpawn, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { describe, expect, it } from 'vitest';
import { repoRoot, rmTree, tempDir, userLabel } from './helpers';

const cli = path.join(repoRoot, 'bin', 'sbx-native.js');
const impls = { child_process: 'require("child_process")', 'sbx-native': `require(${JSON.stringify(path.join(repoRoot, 'dist'))})` };
type Impl = keyof typeof impls;

/** A Node parent that runs `prelude`, then spawns file/args with stdio 'inherit' through `impl`. */
function parent(impl: Impl, prelude: string, file: string, args: string[]): string {
  const call = `${impls[impl]}.spawn(${JSON.stringify(file)}, ${JSON.stringify(args)}, { stdio: 'inherit', sandbox: { writableRoots: [] } })`;
  return `${prelude}; const c = ${call}; c.on('exit', (code) => { process.exitCode = code; });`;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a shell pipeline from / and returns its stdout, stderr and status. */
function pipeline(script: string, env: NodeJS.ProcessEnv = {}): { out: string; err: string; status: number | null } {
  const r = spawnSync('/bin/sh', ['-c', script], { cwd: '/', encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20000 });
  return { out: r.stdout.trim(), err: r.stderr, status: r.status };
}

describe(`inherited stdio the parent made non-blocking (as ${userLabel})`, () => {
  for (const impl of Object.keys(impls) as Impl[]) {
    it(`${impl}: 3 MB to a slow reader on a pipe after the parent wrote to stdout`, () => {
      const src = parent(impl, "console.log('hi')", 'head', ['-c', '3000000', '/dev/zero']);
      const r = pipeline(`${q(process.execPath)} -e ${q(src)} | (sleep 1; wc -c)`);
      expect(r.err).toBe('');
      expect(r.out).toBe('3000003');
    });

    it(`${impl}: 3 MB of stderr to a slow reader after the parent wrote to stderr`, () => {
      const src = parent(impl, "console.error('hi')", '/bin/sh', ['-c', 'head -c 3000000 /dev/zero >&2; echo done-writing']);
      const r = pipeline(`${q(process.execPath)} -e ${q(src)} 2>&1 >/dev/null | (sleep 1; wc -c)`);
      expect(r.out).toBe('3000003');
    });

    it(`${impl}: a slow writer on a pipe after the parent created its stdin stream`, () => {
      const src = parent(impl, 'process.stdin', 'cat', []);
      const r = pipeline(`(sleep 0.5; echo late) | ${q(process.execPath)} -e ${q(src)}`);
      expect(r.err).toBe('');
      expect(r.out).toBe('late');
      expect(r.status).toBe(0);
    });

    it(`${impl}: stdout and stdin on unix sockets, slow on both sides`, async () => {
      // child_process's 'pipe' is a socketpair: the Node parent's stdio are sockets.
      const src = parent(impl, "process.stdin; console.log('hi')", '/bin/sh', ['-c', 'read line; echo "$line"; head -c 3000000 /dev/zero']);
      const p = cpSpawn(process.execPath, ['-e', src], { cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
      let n = 0;
      let err = '';
      let first = '';
      p.stderr.on('data', (d) => {
        err += d;
      });
      p.stdout.pause();
      setTimeout(() => p.stdin.end('late\n'), 500);
      setTimeout(
        () =>
          p.stdout
            .on('data', (d: Buffer) => {
              if (first.length < 16) first += d.subarray(0, 16).toString('latin1');
              n += d.length;
            })
            .resume(),
        1000,
      );
      const code = await new Promise((res) => p.on('close', res));
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(first.startsWith('hi\nlate\n')).toBe(true);
      expect(n).toBe(3 + 5 + 3000000);
    });

    it(`${impl}: stdout to a file and stdin from a file`, () => {
      const dir = tempDir();
      try {
        fs.writeFileSync(path.join(dir, 'in'), 'from-file\n');
        const src = parent(impl, "process.stdin; console.log('hi')", '/bin/sh', ['-c', 'cat; head -c 100000 /dev/zero']);
        const r = pipeline(`${q(process.execPath)} -e ${q(src)} < ${q(path.join(dir, 'in'))} > ${q(path.join(dir, 'out'))}`);
        expect(r.err).toBe('');
        const out = fs.readFileSync(path.join(dir, 'out'));
        expect(out.length).toBe(3 + 10 + 100000);
        expect(out.subarray(0, 13).toString()).toBe('hi\nfrom-file\n');
      } finally {
        rmTree(dir);
      }
    });
  }
});

describe(`the CLI in pipelines (as ${userLabel})`, () => {
  const sbx = `${q(process.execPath)} ${q(cli)} exec --mode read-only`;

  it('passes 3 MB of piped input through whole', () => {
    const r = pipeline(`head -c 3000000 /dev/urandom | ${sbx} -- wc -c`);
    expect(r.err).toBe('');
    expect(r.out).toBe('3000000');
  });

  it('waits for a slow writer on stdin', () => {
    const r = pipeline(`(sleep 0.5; echo late) | ${sbx} -- cat`);
    expect(r.err).toBe('');
    expect(r.out).toBe('late');
    expect(r.status).toBe(0);
  });

  it('writes 3 MB to a slow reader on stdout', () => {
    const r = pipeline(`${sbx} -- head -c 3000000 /dev/zero | (sleep 1; wc -c)`);
    expect(r.err).toBe('');
    expect(r.out).toBe('3000000');
  });

  it("with -v (the CLI wrote to stderr first), the command's stderr reaches a slow reader whole", () => {
    const r = pipeline(`${sbx} -v -- sh -c 'head -c 300000 /dev/zero >&2' 2>&1 >/dev/null | (sleep 1; tr -dc '\\000' | wc -c)`);
    expect(r.out).toBe('300000');
  });
});
