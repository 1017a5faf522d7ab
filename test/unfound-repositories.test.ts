// Repositories below a root's top (issue 11): a vendored clone, a nested
// checkout deep down, a bare repository. The walk of the roots at planning
// (lib/repository-scan.ts, native/git_walk.cc) finds them, and each is
// protected like a repository at a root's top: what its config includes and
// its core.hooksPath directory outside the git directory, a hard link made
// before the sandbox to its config or a hook, and the writable file a
// symlinked config or hook leads to cannot be written. Each attack asserts
// the errno, the host unchanged, and that git run outside afterwards runs
// nothing the command planted. A walk that runs out of its budget is
// reported, and requireRepositoryScan refuses to start. Real git, as root and
// as nobody.
import { execFileSync, spawn as cpSpawn } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configurePool, prepare, SETUP_FAILED, spawn, SpawnOptions } from '../lib';
import { poolState } from '../lib/pool';
import { native } from '../lib/native';
import { realView } from '../lib/fsview';
import { walkThroughView } from '../lib/repository-scan';
import { isRoot, repoRoot, rmTree, sh, snapshot, userLabel } from './helpers';
import { j, py } from './security/lib';
import { fsmonitorConfig, gitWorld, hookScript, runGit } from './git-world';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`repositories below a root's top (as ${userLabel})`, () => {
  let T: string, R: string, src: string, lib: string, pwned: string, env: NodeJS.ProcessEnv;
  const git = (cwd: string, ...args: string[]) => runGit(env, cwd, ...args);
  const sandbox = (extra: object = {}) => ({ writableRoots: [R], tmp: 'none' as const, ...extra });
  const fsmonitor = () => fsmonitorConfig(pwned);
  const hook = () => hookScript(pwned);
  /** Git outside in the nested clone: a status (fsmonitor, includes) and a commit (hooks). */
  const outsideRunsNothing = () => {
    git(lib, 'status', '--short');
    git(lib, 'commit', '-q', '--allow-empty', '-m', 'outside');
    expect(fs.existsSync(pwned)).toBe(false);
  };
  beforeEach(() => {
    ({ T, R, src, pwned, env } = gitWorld('sbx-unf-'));
    fs.mkdirSync(path.join(R, 'vendor'));
    lib = path.join(R, 'vendor', 'lib');
    git(R, 'clone', '-q', src, 'vendor/lib');
  });
  afterEach(() => rmTree(T));

  it('the file its config includes (outside the git directory) cannot be written, nor replaced', async () => {
    fs.writeFileSync(path.join(R, 'lib.gitconfig'), '[user]\n\tname = a\n');
    git(lib, 'config', 'include.path', '../../../lib.gitconfig');
    fs.mkdirSync(path.join(R, 'conf'));
    fs.writeFileSync(path.join(R, 'conf', 'if.gitconfig'), '');
    git(lib, 'config', 'includeIf.gitdir:/.path', path.join(R, 'conf', 'if.gitconfig'));
    fs.writeFileSync(path.join(R, 'new'), fsmonitor());
    const before = snapshot(R);
    const out = await py(
      `
out['append'] = attempt(lambda: os.write(os.open('lib.gitconfig', os.O_WRONLY | os.O_APPEND), ${j(fsmonitor())}.encode()))
out['truncate open'] = attempt(lambda: open('lib.gitconfig', 'w'))
out['rename onto it'] = attempt(lambda: os.rename('new', 'lib.gitconfig'))
out['includeIf file'] = attempt(lambda: open('conf/if.gitconfig', 'a').write(${j(fsmonitor())}))
out['move its directory'] = attempt(lambda: os.rename('conf', 'conf2'))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      append: 'EROFS',
      'truncate open': 'EROFS',
      'rename onto it': 'EBUSY',
      'includeIf file': 'EROFS',
      'move its directory': 'EROFS',
    });
    expect(snapshot(R)).toEqual(before);
    outsideRunsNothing();
  });

  it('its core.hooksPath directory (.husky/_ of the nested clone) cannot be written or added to', async () => {
    const husky = path.join(lib, '.husky', '_');
    fs.mkdirSync(husky, { recursive: true });
    fs.writeFileSync(path.join(husky, 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    git(lib, 'config', 'core.hooksPath', '.husky/_');
    const before = snapshot(R);
    const out = await py(
      `
d = 'vendor/lib/.husky/_'
out['edit a hook'] = attempt(lambda: open(d + '/pre-commit', 'a').write(${j(hook())}))
out['new hook'] = attempt(lambda: open(d + '/post-commit', 'w').write(${j(hook())}))
out['symlink as a hook'] = attempt(lambda: os.symlink('/bin/true', d + '/post-checkout'))
out['move the directory'] = attempt(lambda: os.rename(d, 'vendor/lib/.husky/old'))
out['move the directory above'] = attempt(lambda: os.rename('vendor/lib/.husky', 'vendor/lib/husky2'))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      'edit a hook': 'EROFS',
      'new hook': 'EROFS',
      'symlink as a hook': 'EROFS',
      'move the directory': 'EBUSY',
      'move the directory above': 'EROFS',
    });
    expect(snapshot(R)).toEqual(before);
    outsideRunsNothing();
  });

  it('a hard link made before the sandbox to its config or a hook cannot be written through the other name', async () => {
    const g = path.join(lib, '.git');
    fs.writeFileSync(path.join(g, 'hooks', 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.linkSync(path.join(g, 'config'), path.join(R, 'x'));
    fs.mkdirSync(path.join(R, 'tools'));
    fs.linkSync(path.join(g, 'hooks', 'pre-commit'), path.join(R, 'tools', 'y'));
    const before = snapshot(R);
    const out = await py(
      `
out['config by its other name'] = attempt(lambda: os.write(os.open('x', os.O_WRONLY | os.O_APPEND), ${j(fsmonitor())}.encode()))
out['O_RDWR'] = attempt(lambda: os.open('x', os.O_RDWR))
out['hook by its other name'] = attempt(lambda: open('tools/y', 'a').write(${j(hook())}))
out['read'] = attempt(lambda: os.close(os.open('x', os.O_RDONLY)))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ 'config by its other name': 'EROFS', O_RDWR: 'EROFS', 'hook by its other name': 'EROFS', read: 'ok' });
    expect(snapshot(R)).toEqual(before);
    outsideRunsNothing();
  });

  it('a config or hook that is a symlink to a writable file: the file it leads to cannot be written', async () => {
    const g = path.join(lib, '.git');
    fs.renameSync(path.join(g, 'config'), path.join(R, 'cfg'));
    fs.symlinkSync('../../../cfg', path.join(g, 'config'));
    fs.mkdirSync(path.join(R, 'tools'));
    fs.writeFileSync(path.join(R, 'tools', 'pre-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    fs.symlinkSync('../../../../tools/pre-commit', path.join(g, 'hooks', 'pre-commit'));
    git(lib, 'status', '--short'); // git reads the config through the symlink
    fs.writeFileSync(path.join(R, 'new'), fsmonitor());
    const before = snapshot(R);
    const out = await py(
      `
out['config target'] = attempt(lambda: os.write(os.open('cfg', os.O_WRONLY | os.O_APPEND), ${j(fsmonitor())}.encode()))
out['hook target'] = attempt(lambda: open('tools/pre-commit', 'a').write(${j(hook())}))
out['replace the config target'] = attempt(lambda: os.rename('new', 'cfg'))
out['replace the hook symlink'] = attempt(lambda: os.unlink('vendor/lib/.git/hooks/pre-commit'))
out['move the target directory'] = attempt(lambda: os.rename('tools', 'tools2'))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      'config target': 'EROFS',
      'hook target': 'EROFS',
      'replace the config target': 'EBUSY',
      'replace the hook symlink': 'EROFS',
      'move the target directory': 'EROFS',
    });
    expect(snapshot(R)).toEqual(before);
    outsideRunsNothing();
  });

  it('deeper down and bare: a checkout at a/b/c/d/e and a bare repository in the root are found; their config cannot be written', async () => {
    const deep = path.join(R, 'a', 'b', 'c', 'd', 'e');
    fs.mkdirSync(path.dirname(deep), { recursive: true });
    git(R, 'clone', '-q', src, deep);
    fs.writeFileSync(path.join(R, 'bare.inc'), '');
    git(T, 'clone', '-q', '--bare', src, path.join(R, 'cache', 'x.git'));
    git(path.join(R, 'cache', 'x.git'), 'config', 'include.path', '../../bare.inc');
    const before = snapshot(R);
    const out = await py(
      `
out['deep config'] = attempt(lambda: open('a/b/c/d/e/.git/config', 'a').write(${j(fsmonitor())}))
out['bare config'] = attempt(lambda: open('cache/x.git/config', 'a').write(${j(fsmonitor())}))
out['bare include'] = attempt(lambda: open('bare.inc', 'a').write(${j(fsmonitor())}))
out['bare hook'] = attempt(lambda: open('cache/x.git/hooks/reference-transaction', 'w').write(${j(hook())}))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ 'deep config': 'EROFS', 'bare config': 'EROFS', 'bare include': 'EROFS', 'bare hook': 'EROFS' });
    expect(snapshot(R)).toEqual(before);
    const c = spawn('true', [], { cwd: R, sandbox: sandbox(), pool: false });
    await new Promise((r) => c.on('close', r));
    expect(c.enforcement.notScanned).toBeUndefined();
    expect(c.plan.layout?.repositoryScan).toEqual({ budget: 50000, found: 3, notScanned: [] });
    git(deep, 'status', '--short');
    git(T, `--git-dir=${path.join(R, 'cache', 'x.git')}`, 'update-ref', 'refs/heads/outside', 'main');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('ordinary work in the nested clone keeps working: status, add, commit (its hooksPath hook runs), branch', async () => {
    const husky = path.join(lib, '.husky', '_');
    fs.mkdirSync(husky, { recursive: true });
    fs.writeFileSync(path.join(husky, 'pre-commit'), '#!/bin/sh\necho hook ran >&2\n', { mode: 0o755 });
    git(lib, 'config', 'core.hooksPath', '.husky/_');
    fs.appendFileSync(path.join(lib, '.git', 'info', 'exclude'), '.husky/\n');
    const r = await sh(
      'cd vendor/lib && echo two >> f && git status --short && git add f && git commit -qm two && git checkout -qb b && git log --format=%s | tr "\\n" " "',
      sandbox(),
      { cwd: R, env },
    );
    expect(r.stderr).toBe('hook ran\n');
    expect(r.stdout).toBe(' M f\ntwo one ');
    expect(git(lib, 'log', '--format=%s', '-1', 'b')).toBe('two\n');
    outsideRunsNothing();
  });

  it('a walk past its budget: the root is named as not scanned (child.enforcement, -v); requireRepositoryScan refuses to start', async () => {
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(R, `f${i}`), '');
    const c = spawn('true', [], { cwd: R, sandbox: sandbox({ repositoryScanBudget: 5 }), pool: false });
    await new Promise((r) => c.on('close', r));
    expect(c.enforcement.notScanned).toEqual([{ root: R, why: 'its walk passed the budget of 5 entries' }]);
    const marker = path.join(R, 'ran');
    const before = snapshot(T);
    let err: (Error & { code?: string; hint?: string; step?: string }) | undefined;
    try {
      prepare('/bin/sh', ['-c', `touch ${marker}`], { cwd: R, sandbox: sandbox({ repositoryScanBudget: 5, requireRepositoryScan: true }) });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.code).toBe(SETUP_FAILED);
    expect(err?.step).toBe('repository_scan');
    expect(err?.message).toBe(`repository_scan: ${R} was not scanned for repositories: its walk passed the budget of 5 entries`);
    expect(err?.hint).toMatch(/--repository-scan-budget N; now 5 entries/);
    // spawn fails closed the same way: no command runs.
    expect(() =>
      spawn('/bin/sh', ['-c', `touch ${marker}`], { cwd: R, sandbox: sandbox({ repositoryScanBudget: 5, requireRepositoryScan: true }) }),
    ).toThrow(/^repository_scan: .* was not scanned for repositories/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(snapshot(T)).toEqual(before);
    // With the budget raised it runs.
    const ok = await sh('echo ran', sandbox({ repositoryScanBudget: 1000, requireRepositoryScan: true }), { cwd: R });
    expect(ok.stdout).toBe('ran\n');
    // The CLI: -v names the root, --require-repository-scan refuses with exit 125 and the message.
    const cli = path.join(repoRoot, 'bin', 'sbx-native.js');
    const verbose = await new Promise<string>((resolve) => {
      const p = cpSpawn(process.execPath, [cli, 'exec', '-v', '--tmp', 'none', '--repository-scan-budget', '5', '--', 'true'], {
        cwd: R,
        env: { ...env, HOME: T },
      });
      let errText = '';
      p.stderr.on('data', (d: Buffer) => (errText += d));
      p.on('close', () => resolve(errText));
    });
    expect(verbose).toContain(`sbx-native: not scanned for repositories: ${R} (its walk passed the budget of 5 entries;`);
    let failed: { status?: number; stderr?: string } = {};
    try {
      execFileSync(
        process.execPath,
        [cli, 'exec', '--tmp', 'none', '--repository-scan-budget', '5', '--require-repository-scan', '--', 'touch', marker],
        {
          cwd: R,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...env, HOME: T },
        },
      );
    } catch (x) {
      failed = x as typeof failed;
    }
    expect(failed.status).toBe(125);
    expect(failed.stderr).toContain(`${R} was not scanned for repositories: its walk passed the budget of 5 entries`);
    expect(failed.stderr).toContain('--repository-scan-budget N');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a directory the walk cannot list (mode 0300): as root it is read and its repository found; as another user the root is named as not scanned', async () => {
    const locked = path.join(R, 'locked');
    fs.mkdirSync(locked);
    git(R, 'clone', '-q', src, 'locked/lib');
    fs.chmodSync(locked, 0o300);
    try {
      const c = spawn('true', [], { cwd: R, sandbox: sandbox(), pool: false });
      await new Promise((r) => c.on('close', r));
      if (isRoot) {
        expect(c.enforcement.notScanned).toBeUndefined();
        expect(c.plan.layout?.repositoryScan?.found).toBe(2);
      } else {
        expect(c.enforcement.notScanned).toEqual([{ root: R, why: `1 directory in it could not be read (${locked})` }]);
        expect(() => prepare('true', [], { cwd: R, sandbox: sandbox({ requireRepositoryScan: true }) })).toThrow(
          `repository_scan: ${R} was not scanned for repositories: 1 directory in it could not be read (${locked})`,
        );
      }
    } finally {
      fs.chmodSync(locked, 0o755);
    }
  });

  it("a clone in the shared /tmp (tmp: 'host', two levels down as mktemp -d gives): the file its config includes cannot be written", async () => {
    // T is /tmp/sbx-unf-X: T/clone is read at the walk's second level below /tmp.
    expect(path.dirname(T)).toBe(fs.realpathSync(os.tmpdir()));
    const clone = path.join(T, 'clone');
    git(T, 'clone', '-q', src, 'clone');
    fs.writeFileSync(path.join(T, 'clone.gitconfig'), '[user]\n\tname = a\n');
    git(clone, 'config', 'include.path', '../../clone.gitconfig');
    const before = snapshot(T);
    const out = await py(
      `out['append'] = attempt(lambda: os.write(os.open(${j(path.join(T, 'clone.gitconfig'))}, os.O_WRONLY | os.O_APPEND), ${j(fsmonitor())}.encode()))
out['hooks'] = attempt(lambda: open(${j(path.join(clone, '.git', 'hooks', 'pre-commit'))}, 'w'))`,
      { writableRoots: [R], tmp: 'host' },
      { cwd: R },
    );
    expect(out).toEqual({ append: 'EROFS', hooks: 'EROFS' });
    expect(snapshot(T)).toEqual(before);
    git(clone, 'status', '--short');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('bad budgets are refused, naming the value', () => {
    for (const b of [-1, 1.5, '10', NaN])
      expect(() => prepare('true', [], { cwd: R, sandbox: sandbox({ repositoryScanBudget: b }) })).toThrow(
        /invalid sandbox policy: repositoryScanBudget = .*(expected a whole number|expected a number)/,
      );
    const cli = path.join(repoRoot, 'bin', 'sbx-native.js');
    let failed: { status?: number; stderr?: string } = {};
    try {
      execFileSync(process.execPath, [cli, 'exec', '--repository-scan-budget', 'lots', '--', 'true'], {
        cwd: R,
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (x) {
      failed = x as typeof failed;
    }
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain('--repository-scan-budget expects a whole number of entries, got "lots"');
  });

  it('the native walk and the walk through readdir and lstat agree (names only, symlinks not followed, git directories not entered)', () => {
    fs.symlinkSync(src, path.join(R, 'link-to-src')); // a repository behind a symlink: git outside would not find it from R either
    fs.mkdirSync(path.join(R, 'node_modules', 'x', 'y'), { recursive: true });
    git(R, 'init', '-q', '--bare', 'b.git');
    fs.mkdirSync(path.join(R, 'b.git', 'objects', 'zz', '.git'), { recursive: true }); // inside a git directory: not entered
    const w = native().binding.gitWalk!(R, 100000);
    const js = walkThroughView(realView, R, 100000);
    expect({ ...w, seen: 0 }).toEqual({ ...js, entries: js.entries, seen: 0 });
    expect([...w.entries].sort()).toEqual([path.join(lib, '.git')]);
    expect(w.bare).toEqual([path.join(R, 'b.git')]);
    expect(w.exhausted).toBe(false);
    expect(w.seen).toBe(js.seen);
    const cut = native().binding.gitWalk!(R, 3, true);
    expect([cut.exhausted, cut.seen, cut.dirs]).toEqual([true, 4, undefined]);
    // Just made: no stamps to trust.
    expect(native().binding.gitWalk!(R, 100000, true).dirs).toBeUndefined();
  });

  it('the warm pool: a repository cloned below the root between warm-up and use gets a fresh sandbox that protects it; a new plain file keeps the pooled one', async () => {
    configurePool({ size: 2, policies: 4 });
    try {
      const opts: SpawnOptions = { cwd: R, env, sandbox: sandbox() };
      const run = (script: string) =>
        new Promise<{ out: string; pooled: boolean }>((resolve, reject) => {
          const c = spawn('/bin/sh', ['-c', script], opts);
          const pooled = c.plan.steps.some((s) => s.op === 'pool_wait');
          let out = '';
          c.stdout!.on('data', (d) => (out += d));
          c.stderr!.on('data', (d) => (out += d));
          c.on('error', reject);
          c.on('close', () => resolve({ out, pooled }));
        });
      const ready = async () => {
        for (let i = 0; i < 300 && poolState().ready === 0; i++) await sleep(10);
        expect(poolState().ready).toBeGreaterThan(0);
      };
      // Directories changed within a second of a walk give no stamps (the kernel's timestamps are coarse):
      // after a pause the recorded walk has them, so a pooled spawn checks them instead of walking again.
      await sleep(1100);
      const w = native().binding.gitWalk!(R, 100000, true);
      expect(w.dirs).toEqual([R, path.join(R, 'vendor'), lib]); // not lib/.git: the repository model reads that
      expect(native().binding.gitStampsHold!(w.dirs!, w.stamps!)).toBe(true);
      for (let i = 0; i < 2; i++) expect((await run('true')).pooled).toBe(false);
      await ready();
      expect((await run('true')).pooled).toBe(true);
      await ready();
      // A new file deep in the tree: its directory's stamp changed, the walk again gives the same answer.
      fs.writeFileSync(path.join(R, 'vendor', 'notes.txt'), 'n');
      expect(native().binding.gitStampsHold!(w.dirs!, w.stamps!)).toBe(false);
      expect((await run('true')).pooled).toBe(true);
      await ready();
      // A clone whose config includes a file in the root, made on the host meanwhile: only the walk finds it.
      git(R, 'clone', '-q', src, 'vendor/other');
      fs.writeFileSync(path.join(R, 'other.inc'), '');
      git(path.join(R, 'vendor', 'other'), 'config', 'include.path', '../../../other.inc');
      const before = snapshot(R);
      const r = await run(`(echo x >> other.inc) 2>&1; echo $?`);
      expect(r.pooled).toBe(false);
      expect(r.out).toMatch(/Read-only file system\n2\n$/);
      expect(snapshot(R)).toEqual(before);
    } finally {
      configurePool(false);
      configurePool({ size: 2, policies: 4 });
    }
  });
});
