// How the spawn API lives inside a Node process: many children at once,
// worker threads, AsyncLocalStorage, and ref/unref of the event loop.
import { AsyncLocalStorage } from 'async_hooks';
import { spawnSync } from 'child_process';
import path from 'path';
import { Worker } from 'worker_threads';
import { describe, expect, it } from 'vitest';
import { run, spawn } from '../lib';
import { repoRoot, userLabel } from './helpers';

const none = { writableRoots: [] as string[] };

describe(`Node integration (as ${userLabel})`, () => {
  it('runs 100 sandboxes concurrently, each reporting its own exit code', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => run('/bin/sh', ['-c', `echo ${i}; exit ${i % 7}`], { sandbox: none })),
    );
    results.forEach((r, i) => {
      expect(r.stdout).toBe(`${i}\n`);
      expect(r.code).toBe(i % 7);
    });
  });

  it('keeps the AsyncLocalStorage context in exit callbacks', async () => {
    const als = new AsyncLocalStorage<string>();
    const seen = await als.run(
      'ctx-42',
      () =>
        new Promise<string | undefined>((res) => {
          spawn('/bin/true', [], { sandbox: none }).on('exit', () => res(als.getStore()));
        }),
    );
    expect(seen).toBe('ctx-42');
  });

  it('works from worker threads (the addon is loaded once per thread)', async () => {
    const src = `
      const { parentPort } = require('worker_threads');
      require(${JSON.stringify(path.join(repoRoot, 'dist'))}).run('/bin/sh', ['-c', 'echo from-worker; exit 3'], { sandbox: { writableRoots: [] } })
        .then((r) => parentPort.postMessage(r));`;
    const results = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<any>((res, rej) => {
            const w = new Worker(src, { eval: true });
            w.once('message', (m) => {
              res(m);
              w.terminate();
            });
            w.once('error', rej);
          }),
      ),
    );
    for (const r of results) expect(r).toMatchObject({ code: 3, stdout: 'from-worker\n' });
  });

  it('a worker thread starts nothing ahead (no head start, no pooled sandbox): nothing of it is left once it is terminated', () => {
    const script = `
      const { Worker } = require('worker_threads');
      const fs = require('fs');
      const src = "require(" + JSON.stringify(${JSON.stringify(path.join(repoRoot, 'dist'))}) + ").run('/bin/true', [], { sandbox: { writableRoots: [] } })" +
        ".then(() => new Promise((r) => setTimeout(r, 300))).then(() => require('worker_threads').parentPort.postMessage(1));";
      (async () => {
        for (let k = 0; k < 3; k++)
          await new Promise((res) => { const w = new Worker(src, { eval: true }); w.once('message', () => w.terminate().then(res)); });
        await new Promise((r) => setTimeout(r, 300));
        const kids = fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(' ').filter(Boolean));
        console.log(JSON.stringify(kids));
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('a worker thread that loaded the addon leaves no fd behind, whether it is terminated or ends, with its children exited or still running', () => {
    // Baseline after one worker ran: what the process opens once (the
    // main thread's own state) is not per worker. Then 4 workers of each
    // kind: terminated after a spawn exited, ended on their own after one,
    // and terminated while their sandbox still runs (its pidfd never reaches
    // the 'exit' that closes it; the sandbox dies with the thread that started
    // it, and the process's orphan thread reaps its helper, then ends with its
    // fds: the helpers were zombies until the process exited). fds compared
    // by number and target; children are listed until reaped, zombies too.
    const script = `
      const { Worker } = require('worker_threads');
      const fs = require('fs');
      const dist = ${JSON.stringify(path.join(repoRoot, 'dist'))};
      const fds = () => fs.readdirSync('/proc/self/fd').map((f) => { try { return f + ' ' + fs.readlinkSync('/proc/self/fd/' + f); } catch { return f; } }).sort();
      const kids = () => fs.readdirSync('/proc/self/task').flatMap((t) => fs.readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(' ').filter(Boolean));
      const load = "const sbx = require(" + JSON.stringify(dist) + "); const post = (m) => require('worker_threads').parentPort.postMessage(m);";
      const kinds = {
        terminated: load + "sbx.run('/bin/true', [], { sandbox: { writableRoots: [] } }).then((r) => post(r.code), (e) => post(String(e)));",
        ended: load + "sbx.run('/bin/true', [], { sandbox: { writableRoots: [] } }).then((r) => post(r.code), (e) => post(String(e)));",
        running: load + "const c = sbx.spawn('/bin/sleep', ['3'], { stdio: 'ignore', sandbox: { writableRoots: [] } }); c.on('spawn', () => post(0)); c.on('error', (e) => post(String(e)));",
      };
      const once = (kind) => new Promise((res, rej) => {
        const w = new Worker(kinds[kind], { eval: true });
        w.once('error', rej);
        w.once('message', (m) => { if (m !== 0) rej(new Error(kind + ': ' + m)); else if (kind !== 'ended') w.terminate(); });
        w.once('exit', res);
      });
      const settle = () => new Promise((r) => setTimeout(r, 300));
      (async () => {
        await once('terminated');
        await settle();
        const base = fds(), baseKids = kids(), out = {};
        for (const kind of Object.keys(kinds)) {
          for (let k = 0; k < 4; k++) await once(kind);
          await settle();
          if (kind === 'running') for (let i = 0; i < 100 && kids().some((p) => !baseKids.includes(p)); i++) await settle();
          out[kind] = { opened: fds().filter((f) => !base.includes(f)), closed: base.filter((f) => !fds().includes(f)) };
          out[kind].children = kids().filter((p) => !baseKids.includes(p)).length;
        }
        console.log(JSON.stringify(out));
        process.exit(0);
      })().catch((e) => { console.error(String(e)); process.exit(1); });`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      terminated: { opened: [], closed: [], children: 0 },
      ended: { opened: [], closed: [], children: 0 },
      running: { opened: [], closed: [], children: 0 },
    });
  });

  it('lets the process exit while an unref()ed child runs, and waits for a ref()ed one', () => {
    const script = (unref: boolean) => `
      const c = require(${JSON.stringify(path.join(repoRoot, 'dist'))}).spawn('/bin/sleep', ['2'], { stdio: 'ignore', sandbox: { writableRoots: [] } });
      ${unref ? 'c.unref();' : ''}`;
    let t = Date.now();
    spawnSync(process.execPath, ['-e', script(true)]);
    expect(Date.now() - t).toBeLessThan(1500);
    t = Date.now();
    spawnSync(process.execPath, ['-e', script(false)]);
    expect(Date.now() - t).toBeGreaterThanOrEqual(1900);
  });
});
