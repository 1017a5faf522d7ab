// A repository below a root found by the plan, then removed before the
// sandbox is set up (a parallel test suite deleting its temporary clone):
// its pins used to fail the run at `pin` (ENOENT, exit 125). Where init
// supervises creation, a pinned path gone by then is refused making instead
// (EROFS, rule protected_path), as a protected path missing at planning is,
// and the command runs. A read-only carve-out removed meanwhile is the same.
// A protected file replaced meanwhile by rename (git writes its config that
// way, an editor saves that way) used to fail it with ESTALE; the new file or
// directory is pinned instead, and its inode guarded like the planned one's.
import { execFileSync, spawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepare, SandboxedProcess } from '../lib';
import { DEFAULT_PROTECT } from '../lib/policy';
import { rmTree, tempDir, userLabel } from './helpers';

const hasGit = (() => {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let W: string;

function run(prepared: ReturnType<typeof prepare>): Promise<{ code: number | null; out: string; err: string; violations: string[] }> {
  return new Promise((resolve, reject) => {
    const c = new SandboxedProcess(prepared, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => resolve({ code, out, err, violations: c.violations.map((v) => `${v.op} ${v.path} ${v.errno} ${v.rule}`) }));
  });
}

/** W with a read-only carve-out W/keep, planned for `touch ran` (nothing may run). */
function keepPlan() {
  W = tempDir('sbx-gone-');
  fs.mkdirSync(path.join(W, 'keep'));
  return prepare('/bin/sh', ['-c', 'touch ran'], {
    cwd: W,
    sandbox: { writableRoots: [W], readOnly: [path.join(W, 'keep')], tmp: 'none' },
    pool: false,
  });
}

/** The set-up error of `steps` once W/keep is gone. */
function setupError(prepared: ReturnType<typeof prepare>, steps: ReturnType<typeof prepare>['plan']['steps']): Promise<any> {
  fs.rmdirSync(path.join(W, 'keep'));
  return new Promise((resolve) => {
    const c = new SandboxedProcess({ ...prepared, plan: { ...prepared.plan, steps } }, { stdio: 'ignore' });
    c.on('error', resolve);
  });
}

describe(`a repository removed between planning and set-up (as ${userLabel})`, () => {
  afterEach(() => rmTree(W));

  it.skipIf(!hasGit)(
    `${hasGit ? '' : '(skipped: needs git) '}the command runs; making the repository or the carve-out again gives EROFS; the host is unchanged`,
    async () => {
      W = tempDir('sbx-gone-');
      execFileSync('git', ['init', '-q', path.join(W, 'sub')]);
      fs.mkdirSync(path.join(W, 'keep'));
      fs.writeFileSync(path.join(W, 'keep', 'settings.json'), '{}');
      const src = `const fs = require('fs'); const out = {};
        const tryIt = (label, fn) => { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } };
        out.gone = !fs.existsSync('sub/.git') && !fs.existsSync('keep');
        tryIt('repository', () => fs.mkdirSync('sub/.git'));
        tryIt('carve-out dir', () => fs.mkdirSync('keep'));
        tryIt('carve-out file', () => fs.writeFileSync('keep', 'evil'));
        tryIt('other', () => fs.writeFileSync('sub/notes', 'n'));
        process.stdout.write(JSON.stringify(out));`;
      const prepared = prepare(process.execPath, ['-e', src], {
        cwd: W,
        sandbox: { writableRoots: [W], readOnly: [path.join(W, 'keep')], tmp: 'none' },
        pool: false,
      });
      const pins = prepared.plan.steps.filter((s) => s.op === 'pin' || s.op === 'pin_from').map((s) => s.args);
      expect(pins).toContainEqual([path.join(W, 'sub', '.git', 'config'), 'gone-ok', 'replaced-ok']);
      expect(pins).toContainEqual([path.join(W, 'keep'), 'gone-ok', 'replaced-ok']);
      rmTree(path.join(W, 'sub', '.git'));
      rmTree(path.join(W, 'keep'));
      const r = await run(prepared);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toEqual({
        gone: true,
        repository: 'EROFS',
        'carve-out dir': 'EROFS',
        'carve-out file': 'EROFS',
        other: 'ok',
      });
      expect(r.violations).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/sub\/\.git EROFS .*new git repository/),
          expect.stringMatching(/keep EROFS protected path \(it does not exist; creating it is refused\)/),
        ]),
      );
      expect(fs.readdirSync(path.join(W, 'sub')).sort()).toEqual(['notes']);
      expect(fs.existsSync(path.join(W, 'keep'))).toBe(false);
    },
  );

  it('without gone-ok a gone pin still fails the run closed (exit 125 at pin, ENOENT), and nothing runs', async () => {
    const prepared = keepPlan();
    const steps = prepared.plan.steps.map((s) => (s.op === 'pin' ? { ...s, args: s.args.slice(0, 1) } : s));
    expect(steps.some((s) => s.op === 'pin' && s.args[0] === path.join(W, 'keep'))).toBe(true);
    const err = await setupError(prepared, steps);
    expect([err.step, err.errno]).toEqual(['pin', -os.constants.errno.ENOENT]);
    expect(fs.readdirSync(W)).toEqual([]);
  });

  it('gone-ok in a plan whose init does not supervise creation fails closed at command_fork, and nothing runs', async () => {
    const prepared = keepPlan();
    // The supervise step without mkdirat: the helper must not trust the pin's word alone.
    const steps = prepared.plan.steps.map((s) =>
      s.op === 'supervise' ? { ...s, args: s.args.filter((a) => !/^sys=\d+:mkdirat$/.test(a)) } : s,
    );
    expect(steps.some((s) => s.op === 'pin' && s.args[0] === path.join(W, 'keep') && s.args.includes('gone-ok'))).toBe(true);
    const err = await setupError(prepared, steps);
    expect(err.step).toBe('command_fork');
    expect(err.message).toMatch(/does not supervise creation/);
    expect(fs.readdirSync(W)).toEqual([]);
  });
});

/** In the sandbox's JavaScript: exchange(a, b), renameat2 with RENAME_EXCHANGE (through python3's libc), 'ok' or its errno's code. */
const EXCHANGE = `const exchange = (a, b) => require('child_process').execFileSync('python3', ['-c',
  'import ctypes, errno, sys; l = ctypes.CDLL(None, use_errno=True); ' +
  'r = l.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2); print("ok" if r == 0 else errno.errorcode[ctypes.get_errno()])',
  a, b]).toString().trim();`;

/** Replace `p` by rename, as git and editors write: a new inode at the same name. */
function replaceByRename(p: string, text: string): void {
  fs.writeFileSync(`${p}.lock`, text);
  fs.renameSync(`${p}.lock`, p);
}

/** The set-up error of `prepared`, or what ran instead (the test then fails on it). */
function setUpFailure(prepared: ReturnType<typeof prepare>): Promise<any> {
  return new Promise((resolve) => {
    const c = new SandboxedProcess(prepared, { stdio: 'ignore' });
    c.on('error', resolve);
    c.on('close', (code) => resolve({ step: `none: the command ran, exit ${code}` }));
  });
}

describe(`a protected path replaced between planning and set-up (as ${userLabel})`, () => {
  afterEach(() => rmTree(W));

  // Read-only carve-outs W/conf and W/dir, and `many` more files in W/many: from 16 in a group on, pins are cloned from
  // a copy of its mount (pin_from), below that bound one by one (pin).
  function plan(src: string, many = 0) {
    W = tempDir('sbx-replaced-');
    fs.writeFileSync(path.join(W, 'conf'), 'planned\n');
    fs.mkdirSync(path.join(W, 'dir'));
    fs.mkdirSync(path.join(W, 'many'));
    const files = Array.from({ length: many }, (_, i) => path.join(W, 'many', `f${i}`));
    for (const f of files) fs.writeFileSync(f, 'planned\n');
    return prepare(process.execPath, ['-e', src], {
      cwd: W,
      sandbox: { writableRoots: [W], readOnly: [path.join(W, 'conf'), path.join(W, 'dir'), ...files], tmp: 'none' },
      pool: false,
    });
  }

  const pinOf = (prepared: ReturnType<typeof prepare>, p: string) =>
    prepared.plan.steps.find((s) => (s.op === 'pin' && s.args[0] === p) || (s.op === 'pin_from' && s.args[2] === p));

  const probe = `const fs = require('fs'); const out = {};
    const tryIt = (label, fn) => { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } };
    out.seen = fs.readFileSync('conf', 'utf8');
    tryIt('write', () => fs.appendFileSync('conf', 'evil'));
    tryIt('second name', () => fs.appendFileSync('backup', 'evil'));
    tryIt('dir', () => fs.writeFileSync('dir/new', 'evil'));
    tryIt('other', () => fs.writeFileSync('notes', 'n'));
    process.stdout.write(JSON.stringify(out));`;

  it('a file the host keeps replacing by rename (git config in a loop) fails no run, and no run can write it', async () => {
    plan(probe);
    const conf = path.join(W, 'conf');
    const sandbox = { writableRoots: [W], readOnly: [conf, path.join(W, 'dir')], tmp: 'none' as const };
    // Another process, so the renames go on while this one plans and sets up.
    const loop = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'), p = ${JSON.stringify(conf)};
         for (let i = 0; ; i++) { fs.writeFileSync(p + '.lock', 'v' + i + '\\n'); fs.renameSync(p + '.lock', p); if (i === 100) process.stdout.write('going'); }`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((resolve) => loop.stdout!.once('data', resolve));
    try {
      const results: string[] = [];
      for (let i = 0; i < 40; i++) {
        // Planned and set up while the loop renames: both the plan's check and the bind race with it.
        const r = await run(prepare(process.execPath, ['-e', probe], { cwd: W, sandbox, pool: false }));
        results.push(r.code === 0 ? JSON.parse(r.out).write : `exit ${r.code}: ${r.err}`);
      }
      expect(results).toEqual(Array(40).fill('EROFS'));
    } finally {
      loop.kill('SIGKILL');
    }
    expect(fs.readFileSync(conf, 'utf8')).toMatch(/^v\d+\n$/);
  });

  it('a pinned file or directory the host replaces or removes while the command runs (its pin detached) stays read-only', async () => {
    const src = `const fs = require('fs'); const out = {}; ${EXCHANGE}
      const tryIt = (label, fn) => { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } };
      const wait = (f) => { while (!fs.existsSync(f)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); };
      const mounts = () => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\\n').map((l) => l.split(' ')[4]);
      const mounted = (n) => mounts().includes(process.cwd() + '/' + n);
      out.pinned = mounted('conf') && mounted('dir');
      fs.writeFileSync('ready', '');
      wait('replaced');
      out.detached = !mounted('conf') && !mounted('dir');
      out.seen = fs.readFileSync('conf', 'utf8') + fs.readdirSync('dir').join();
      tryIt('append', () => fs.appendFileSync('conf', 'evil'));
      tryIt('open r+', () => fs.closeSync(fs.openSync('conf', 'r+')));
      tryIt('truncate', () => fs.truncateSync('conf', 0));
      tryIt('rename onto', () => { fs.writeFileSync('evil', 'evil'); fs.renameSync('evil', 'conf'); });
      tryIt('dir: new file', () => fs.writeFileSync('dir/new', 'evil'));
      tryIt('dir: its file', () => fs.appendFileSync('dir/sub/settings.json', 'evil'));
      tryIt('dir: its file r+', () => fs.closeSync(fs.openSync('dir/sub/settings.json', 'r+')));
      tryIt('dir: mkdir', () => fs.mkdirSync('dir/sub/x'));
      tryIt('dir: chmod', () => fs.chmodSync('dir/sub/settings.json', 0o777));
      tryIt('dir: rename into', () => { fs.writeFileSync('evil2', 'evil'); fs.renameSync('evil2', 'dir/sub/settings.json'); });
      tryIt('dir: link out', () => fs.linkSync('dir/sub/settings.json', 'linked'));
      tryIt('link out', () => fs.linkSync('conf', 'linked2'));
      tryIt('dir: rename out', () => fs.renameSync('dir/sub/settings.json', 'moved'));
      tryIt('rename away', () => fs.renameSync('conf', 'moved2'));
      fs.writeFileSync('evil3', 'evil');
      out.exchange = exchange('conf', 'evil3') + ' ' + exchange('evil3', 'conf');
      out['dir: exchange'] = exchange('dir/sub/settings.json', 'evil3') + ' ' + exchange('evil3', 'dir/sub/settings.json');
      fs.writeFileSync('asked', '');
      wait('removed');
      tryIt('make anew', () => fs.writeFileSync('conf', 'evil'));
      tryIt('dir: make anew', () => fs.mkdirSync('dir'));
      tryIt('other', () => fs.writeFileSync('notes', 'n'));
      process.stdout.write(JSON.stringify(out));`;
    const prepared = plan(src);
    const conf = path.join(W, 'conf');
    const dir = path.join(W, 'dir');
    const until = async (f: string) => {
      for (let i = 0; i < 2000 && !fs.existsSync(path.join(W, f)); i++) await new Promise((r) => setTimeout(r, 5));
    };
    const running = run(prepared);
    await until('ready');
    replaceByRename(conf, 'replaced\n');
    fs.mkdirSync(path.join(W, 'dir.new', 'sub'), { recursive: true });
    fs.writeFileSync(path.join(W, 'dir.new', 'sub', 'settings.json'), '{}');
    fs.rmdirSync(dir);
    fs.renameSync(path.join(W, 'dir.new'), dir);
    fs.writeFileSync(path.join(W, 'replaced'), '');
    await until('asked');
    expect(fs.readFileSync(conf, 'utf8')).toBe('replaced\n');
    expect(fs.readFileSync(path.join(dir, 'sub', 'settings.json'), 'utf8')).toBe('{}');
    expect(fs.readdirSync(dir)).toEqual(['sub']);
    expect(fs.readdirSync(path.join(dir, 'sub'))).toEqual(['settings.json']);
    fs.unlinkSync(conf);
    rmTree(dir);
    fs.writeFileSync(path.join(W, 'removed'), '');
    const r = await running;
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      pinned: true,
      detached: true,
      seen: 'replaced\nsub',
      append: 'EROFS',
      'open r+': 'EROFS',
      truncate: 'EROFS',
      'rename onto': 'EROFS',
      'dir: new file': 'EROFS',
      'dir: its file': 'EROFS',
      'dir: its file r+': 'EROFS',
      'dir: mkdir': 'EROFS',
      'dir: chmod': 'EROFS',
      'dir: rename into': 'EROFS',
      'dir: link out': 'EROFS',
      'link out': 'EROFS',
      'dir: rename out': 'EROFS',
      'rename away': 'EROFS',
      exchange: 'EROFS EROFS',
      'dir: exchange': 'EROFS EROFS',
      'make anew': 'EROFS',
      'dir: make anew': 'EROFS',
      other: 'ok',
    });
    const why = 'EROFS a read-only path the host replaced or removed during the run';
    expect(r.violations.filter((v) => v.includes(why)).length).toBeGreaterThanOrEqual(5);
    expect(fs.existsSync(conf)).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
    expect(fs.readdirSync(W).sort()).toEqual(['asked', 'evil', 'evil2', 'evil3', 'many', 'notes', 'ready', 'removed', 'replaced']);
  });

  it("a command racing the host's save at the pinned name (rename onto, link out, append, in a loop) gets nothing there: 20 runs", async () => {
    const src = `const fs = require('fs'); const seen = {};
      const t = (label, fn) => { try { fn(); seen[label + ' ok'] = 1; } catch (e) { seen[label + ' ' + e.code] = 1; } };
      fs.writeFileSync('ready', '');
      for (let i = 0; i < 100000 && !fs.existsSync('stop'); i++) {
        t('rename onto', () => { fs.writeFileSync('evil', 'evil'); fs.renameSync('evil', 'conf'); });
        t('link out', () => fs.linkSync('conf', 'second'));
        t('append', () => fs.appendFileSync('conf', 'evil'));
      }
      process.stdout.write(JSON.stringify(Object.keys(seen).sort()));`;
    const answers = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const prepared = plan(src);
      const conf = path.join(W, 'conf');
      const running = run(prepared);
      for (let j = 0; j < 2000 && !fs.existsSync(path.join(W, 'ready')); j++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 3 + (i % 10)));
      replaceByRename(conf, 'saved\n');
      await new Promise((r) => setTimeout(r, 10));
      fs.writeFileSync(path.join(W, 'stop'), '');
      const r = await running;
      expect(r.code, r.err).toBe(0);
      for (const a of JSON.parse(r.out)) answers.add(a);
      expect(fs.readFileSync(conf, 'utf8')).toBe('saved\n');
      expect(fs.existsSync(path.join(W, 'second'))).toBe(false);
      rmTree(W);
    }
    // While the pin holds, the kernel's answers (EBUSY onto a mount point, EXDEV out of it, EROFS); once detached, EROFS.
    const allowed = ['append EROFS', 'link out EROFS', 'link out EXDEV', 'rename onto EBUSY', 'rename onto EROFS'];
    expect([...answers].filter((a) => !allowed.includes(a))).toEqual([]);
    expect([...answers]).toEqual(expect.arrayContaining(['rename onto EBUSY', 'rename onto EROFS']));
  });

  it('with allowGitWrites and every protected name present (nothing to refuse making), a detached pin is still guarded', async () => {
    const src = `const fs = require('fs'); const out = {};
      const tryIt = (label, fn) => { try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); } };
      const wait = (f) => { while (!fs.existsSync(f)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); };
      fs.writeFileSync('ready', '');
      wait('replaced');
      tryIt('append', () => fs.appendFileSync('conf', 'evil'));
      tryIt('rename onto', () => { fs.writeFileSync('evil', 'evil'); fs.renameSync('evil', 'conf'); });
      tryIt('dir: new file', () => fs.writeFileSync('dir/new', 'evil'));
      tryIt('dir: mkdir', () => fs.mkdirSync('dir/x'));
      tryIt('dir: symlink', () => fs.symlinkSync('/', 'dir/y'));
      tryIt('other', () => fs.writeFileSync('notes', 'n'));
      process.stdout.write(JSON.stringify(out));`;
    W = tempDir('sbx-replaced-');
    for (const n of DEFAULT_PROTECT) {
      if (n.includes('/') || n.startsWith('.vscode') || n === '.idea' || n === '.agents')
        fs.mkdirSync(path.join(W, n), { recursive: true });
      else fs.writeFileSync(path.join(W, n), '');
    }
    fs.writeFileSync(path.join(W, 'conf'), 'planned\n');
    fs.mkdirSync(path.join(W, 'dir'));
    const prepared = prepare(process.execPath, ['-e', src], {
      cwd: W,
      sandbox: { writableRoots: [W], readOnly: [path.join(W, 'conf'), path.join(W, 'dir')], tmp: 'none', allowGitWrites: true },
      pool: false,
    });
    expect(prepared.plan.layout?.missingProtected).toEqual([]);
    expect(prepared.plan.layout?.newNames).toEqual([]);
    const running = run(prepared);
    for (let j = 0; j < 2000 && !fs.existsSync(path.join(W, 'ready')); j++) await new Promise((r) => setTimeout(r, 5));
    replaceByRename(path.join(W, 'conf'), 'replaced\n');
    fs.rmdirSync(path.join(W, 'dir'));
    fs.mkdirSync(path.join(W, 'dir.new'));
    fs.renameSync(path.join(W, 'dir.new'), path.join(W, 'dir'));
    fs.writeFileSync(path.join(W, 'replaced'), '');
    const r = await running;
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      append: 'EROFS',
      'rename onto': 'EROFS',
      'dir: new file': 'EROFS',
      'dir: mkdir': 'EROFS',
      'dir: symlink': 'EROFS',
      other: 'ok',
    });
    expect(fs.readFileSync(path.join(W, 'conf'), 'utf8')).toBe('replaced\n');
    expect(fs.readdirSync(path.join(W, 'dir'))).toEqual([]);
  });

  for (const [how, many] of [
    ['pin', 0],
    ['pin_from', 20],
  ] as const) {
    it(`${how}: the new file or directory is pinned: writing it, a second name of it or into it gives EROFS; the host is unchanged`, async () => {
      const prepared = plan(probe, many);
      expect(pinOf(prepared, path.join(W, 'conf'))?.op).toBe(how);
      expect(pinOf(prepared, path.join(W, 'dir'))?.op).toBe(how);
      replaceByRename(path.join(W, 'conf'), 'replaced\n');
      fs.linkSync(path.join(W, 'conf'), path.join(W, 'backup')); // made after planning: only init can know its inode
      fs.rmdirSync(path.join(W, 'dir'));
      fs.mkdirSync(path.join(W, 'dir'));
      const r = await run(prepared);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toEqual({ seen: 'replaced\n', write: 'EROFS', 'second name': 'EROFS', dir: 'EROFS', other: 'ok' });
      expect(r.violations).toEqual(expect.arrayContaining([expect.stringMatching(/\/backup EROFS a second name of a protected file/)]));
      expect(fs.readFileSync(path.join(W, 'conf'), 'utf8')).toBe('replaced\n');
      expect(fs.readdirSync(path.join(W, 'dir'))).toEqual([]);
      expect(fs.readdirSync(W).sort()).toEqual(['backup', 'conf', 'dir', 'many', 'notes']);
    });

    it(`${how}: a symlink put there instead still fails the run closed (exit 125, ESTALE), and nothing runs`, async () => {
      const prepared = plan("require('fs').writeFileSync('ran', '')", many);
      fs.writeFileSync(path.join(W, 'elsewhere'), 'x');
      fs.symlinkSync('elsewhere', path.join(W, 'conf.lock'));
      fs.renameSync(path.join(W, 'conf.lock'), path.join(W, 'conf'));
      const err = await setUpFailure(prepared);
      expect([err.step, err.errno]).toEqual([how, -os.constants.errno.ESTALE]);
      expect(fs.existsSync(path.join(W, 'ran'))).toBe(false);
    });

    it(`${how}: without replaced-ok (a pooled sandbox's pins) a replaced file still fails the run with ESTALE`, async () => {
      const prepared = plan("require('fs').writeFileSync('ran', '')", many);
      const steps = prepared.plan.steps.map((s) =>
        s.op === 'pin' || s.op === 'pin_from' ? { ...s, args: s.args.filter((a) => a !== 'replaced-ok') } : s,
      );
      replaceByRename(path.join(W, 'conf'), 'replaced\n');
      const err = await setUpFailure({ ...prepared, plan: { ...prepared.plan, steps } });
      expect([err.step, err.errno]).toEqual([how, -os.constants.errno.ESTALE]);
      expect(fs.existsSync(path.join(W, 'ran'))).toBe(false);
      expect(fs.readFileSync(path.join(W, 'conf'), 'utf8')).toBe('replaced\n');
    });
  }
});
