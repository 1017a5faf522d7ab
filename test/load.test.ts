// Load: many sandboxed spawns in one Node process (exact exit codes, no
// zombies, fds and RSS back to their level), a Node parent SIGKILLed with 64
// sandboxes in flight (nothing survives), and eight sandboxes writing to the
// same roots at once (no interference).
// The long run is 10,000 spawns as root and 1,000 as nobody (the suite runs
// twice; the second pass stays short). ~4 ms per spawn here, 64 at a time.
import { spawn as cpSpawn } from 'child_process';
import fs from 'fs';
import path from 'path';
import v8 from 'v8';
import vm from 'vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, run } from '../lib';
import { isRoot, leftovers, repoRoot, rmTree, tempDir, userLabel } from './helpers';

const COUNT = isRoot ? 10000 : 1000;
const PARALLEL = 64;

const fdCount = () => fs.readdirSync('/proc/self/fd').length;
/** Children of this process in state Z. */
function zombies(): string[] {
  const out: string[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === process.pid && f[0] === 'Z') out.push(p);
    } catch {
      /* gone */
    }
  }
  return out;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = () => {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
};

describe(`load (as ${userLabel})`, () => {
  let H: string;
  beforeAll(() => {
    H = tempDir('sbx-load-');
  });
  afterAll(() => rmTree(H));

  it(`${COUNT.toLocaleString('en')} spawns, ${PARALLEL} at a time${isRoot ? '' : ' (1,000 as nobody; 10,000 as root)'}: exact exit codes, no zombies, fds and RSS back`, async () => {
    const root = path.join(H, 'spawns');
    fs.mkdirSync(root);
    const sandbox = { writableRoots: [root], tmp: 'none' as const };
    const batch = (n: number, offset: number) =>
      new Promise<string[]>((resolve) => {
        const wrong: string[] = [];
        let started = 0,
          done = 0;
        const next = () => {
          if (started >= n) return;
          const i = offset + started++;
          const want = (i * 7) % 256;
          // Mostly sh with a varied status; every 4th /bin/true (0).
          const c =
            i % 4 === 3
              ? spawn('/bin/true', [], { stdio: 'ignore', sandbox })
              : spawn('/bin/sh', ['-c', `exit ${want}`], { stdio: 'ignore', sandbox });
          const expected = i % 4 === 3 ? 0 : want;
          const end = (what: string | null) => {
            if (what !== null) wrong.push(`#${i}: ${what}`);
            if (++done === n) resolve(wrong);
            else next();
          };
          c.on('error', (e) => end(`error ${e.message}`));
          c.on('exit', (code, signal) => end(code === expected && signal === null ? null : `exit ${code} ${signal}, wanted ${expected}`));
        };
        for (let k = 0; k < Math.min(PARALLEL, n); k++) next();
      });
    // Warm up (addon, watcher thread, caches), then measure the baseline.
    expect(await batch(PARALLEL * 2, 0)).toEqual([]);
    await sleep(200);
    gc();
    const fds0 = fdCount();
    const rss0 = process.memoryUsage().rss;
    const t0 = Date.now();
    const wrong = await batch(COUNT, PARALLEL * 2);
    const ms = Date.now() - t0;
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(wrong.length).toBe(0);
    let fds = fdCount();
    for (let i = 0; i < 50 && fds !== fds0; i++) {
      await sleep(20);
      fds = fdCount();
    }
    gc();
    await sleep(100);
    const rss = process.memoryUsage().rss;
    console.log(
      `${COUNT} spawns in ${ms} ms (${(ms / COUNT).toFixed(2)} ms each), fds ${fds0} -> ${fds}, rss ${rss0 >> 20} -> ${rss >> 20} MB`,
    );
    expect(zombies()).toEqual([]);
    expect(fds).toBe(fds0);
    expect(rss - rss0).toBeLessThan(50 * 1024 * 1024);
    expect(fs.readdirSync(root)).toEqual([]);
  }, 120000);

  it('SIGKILL of the Node parent with 64 sandboxes in flight leaves no sandboxed process alive', async () => {
    const cwd = path.join(H, 'killed-parent');
    const root = path.join(cwd, 'root');
    fs.mkdirSync(root, { recursive: true });
    const marker = `sbx-load-marker-${process.pid}-${Date.now()}`;
    // The parent keeps 64 sandboxes busy (short sleeps, refilled as they end), each named by the marker (argv0).
    // Fresh ones (pool: false): the scan finds helpers by their cwd, and a pooled
    // helper works from / (test/pool.test.ts kills a parent with pooled sandboxes).
    const script = `
      const { spawn } = require(${JSON.stringify(path.join(repoRoot, 'dist'))});
      let done = 0;
      const one = () => {
        const c = spawn('/bin/sh', ['-c', 'sleep 0.$(( $$ % 5 + 1 ))'], { argv0: ${JSON.stringify(marker)}, stdio: 'ignore', pool: false, sandbox: { writableRoots: [${JSON.stringify(root)}], tmp: 'none' } });
        c.on('exit', () => { if (++done === 64) process.stdout.write('busy\\n'); one(); });
        c.on('error', (e) => { process.stderr.write(String(e)); process.exit(3); });
      };
      for (let i = 0; i < 64; i++) one();`;
    const parent = cpSpawn(process.execPath, ['-e', script], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      parent.stdout!.on('data', (d) => {
        if (String(d).includes('busy')) resolve();
      });
      parent.on('exit', (code) => reject(new Error(`parent exited early: ${code}`)));
    });
    // The scan sees them (each sandbox: monitor, init, command). On a crowded
    // machine the short sleeps end faster than new sandboxes start, so look again.
    let during = leftovers(cwd, marker);
    for (let i = 0; i < 100 && during.length < 64; i++) {
      await sleep(50);
      during = leftovers(cwd, marker);
    }
    expect(during.length).toBeGreaterThanOrEqual(64);
    parent.kill('SIGKILL');
    await new Promise((res) => parent.on('exit', res));
    let left = leftovers(cwd, marker);
    for (let i = 0; i < 100 && left.length; i++) {
      await sleep(20);
      left = leftovers(cwd, marker);
    }
    expect(left).toEqual([]);
  }, 30000);

  it('eight sandboxes writing to the same two roots at once do not interfere', async () => {
    const a = path.join(H, 'shared-a'),
      b = path.join(H, 'shared-b');
    fs.mkdirSync(a);
    fs.mkdirSync(b);
    const FILES = 200;
    // Each writes its own files in a, hard-links them into b (one mount: same inode), renames a temp file into place,
    // and appends to its own log; a sandbox that saw another's writes fail would exit non-zero.
    const script = (i: number) => `set -e; for k in $(seq 1 ${FILES}); do
      printf '%s' "w${i}-$k" > ${a}/w${i}-$k; ln ${a}/w${i}-$k ${b}/w${i}-$k;
      printf '%s' "r${i}-$k" > ${a}/.tmp-w${i}-$k; mv ${a}/.tmp-w${i}-$k ${b}/r${i}-$k;
      echo $k >> ${b}/log-${i}; done`;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => run('/bin/sh', ['-c', script(i)], { sandbox: { writableRoots: [a, b], tmp: 'none' } })),
    );
    results.forEach((r, i) => expect({ i, code: r.code, stderr: r.stderr }).toEqual({ i, code: 0, stderr: '' }));
    for (let i = 0; i < 8; i++) {
      for (let k = 1; k <= FILES; k++) {
        expect(fs.readFileSync(path.join(a, `w${i}-${k}`), 'utf8')).toBe(`w${i}-${k}`);
        expect(fs.statSync(path.join(b, `w${i}-${k}`)).ino).toBe(fs.statSync(path.join(a, `w${i}-${k}`)).ino);
        expect(fs.readFileSync(path.join(b, `r${i}-${k}`), 'utf8')).toBe(`r${i}-${k}`);
      }
      expect(fs.readFileSync(path.join(b, `log-${i}`), 'utf8')).toBe(Array.from({ length: FILES }, (_, k) => `${k + 1}\n`).join(''));
    }
    expect(fs.readdirSync(a).length).toBe(8 * FILES);
    expect(fs.readdirSync(b).length).toBe(8 * FILES * 2 + 8);
  }, 60000);
});
