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
