// The memory of found repositories (lib/repository-memory.ts, issue 11): a
// command that fills its root with entries, so that the next run's walk
// stops at its budget before it reaches a vendored clone, hides nothing an
// earlier walk found. The attack runs as a real command in a real sandbox (the
// CLI, another process) and the next one is attacked through the library; the
// memory file itself cannot be written, replaced or planted from inside.
// Errno and host state asserted; real git; as root and as nobody.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from '../lib';
import { forgetLoaded, memoryFile, remember, rememberedUnder } from '../lib/repository-memory';
import { scanRepositories } from '../lib/repository-scan';
import { repoRoot, rmTree, snapshot, userLabel } from './helpers';
import { j, py } from './security/lib';
import { fsmonitorConfig, gitWorld, runGit } from './git-world';
import { DIR, memView } from './planner/memfs';

const cli = path.join(repoRoot, 'bin', 'sbx-native.js');
const BUDGET = 300;

describe(`a root filled with entries hides no repository an earlier walk found (as ${userLabel})`, () => {
  let T: string, R: string, src: string, pwned: string, env: NodeJS.ProcessEnv, lib: string, cache: string;
  let saved: string | undefined;
  const git = (cwd: string, ...args: string[]) => runGit(env, cwd, ...args);
  beforeEach(() => {
    ({ T, R, src, pwned, env } = gitWorld('sbx-mem-'));
    cache = path.join(T, 'cache');
    saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = cache; // this process's memory, as the CLI's below
    forgetLoaded();
    fs.mkdirSync(path.join(R, 'vendor'));
    lib = path.join(R, 'vendor', 'lib');
    git(R, 'clone', '-q', src, 'vendor/lib');
    fs.writeFileSync(path.join(R, 'lib.gitconfig'), '[user]\n\tname = a\n');
    git(lib, 'config', 'include.path', '../../../lib.gitconfig');
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    forgetLoaded();
    rmTree(T);
  });
  const cliRun = (...args: string[]) =>
    execFileSync(process.execPath, [cli, 'exec', '-w', R, '--tmp', 'none', '--repository-scan-budget', String(BUDGET), '-v', ...args], {
      cwd: R,
      encoding: 'utf8',
      env: { ...env, XDG_CACHE_HOME: cache },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const attack = () =>
    py(
      `out['append'] = attempt(lambda: os.write(os.open('lib.gitconfig', os.O_WRONLY | os.O_APPEND), ${j(fsmonitorConfig(pwned))}.encode()))`,
      { writableRoots: [R], tmp: 'none', repositoryScanBudget: BUDGET },
      { cwd: R },
    );

  it("a sandboxed command floods the root past the budget: the next run still protects the clone's include file (EROFS)", async () => {
    // Run 1 (the CLI: another process) walks the whole root, then floods it.
    cliRun('--', 'sh', '-c', `i=0; while [ $i -lt ${BUDGET + 100} ]; do : > flood$i; i=$((i+1)); done`);
    expect(fs.readdirSync(R).filter((n) => n.startsWith('flood'))).toHaveLength(BUDGET + 100);
    expect(rememberedUnder(memoryFile({ XDG_CACHE_HOME: cache }), R).entries).toEqual([path.join(lib, '.git')]);
    // Run 2: its walk stops in the top directory, before vendor/; the clone is protected from the memory.
    const before = snapshot(R);
    expect(await attack()).toEqual({ append: 'EROFS' });
    expect(snapshot(R)).toEqual(before);
    const c = spawn('true', [], { cwd: R, sandbox: { writableRoots: [R], tmp: 'none', repositoryScanBudget: BUDGET }, pool: false });
    await new Promise((r) => c.on('close', r));
    expect(c.enforcement.notScanned).toEqual([
      { root: R, why: `its walk passed the budget of ${BUDGET} entries; 1 repository found there by earlier walks protected` },
    ]);
    // git outside runs nothing the command planted.
    git(lib, 'status', '--short');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it('a root never walked whole is named as not scanned with nothing remembered; one walk that covers it is remembered for the flooded runs after', async () => {
    for (let i = 0; i < BUDGET + 100; i++) fs.writeFileSync(path.join(R, `flood${i}`), '');
    const short = () =>
      spawn('true', [], { cwd: R, sandbox: { writableRoots: [R], tmp: 'none', repositoryScanBudget: BUDGET }, pool: false });
    let c = short();
    await new Promise((r) => c.on('close', r));
    expect(c.enforcement.notScanned).toEqual([{ root: R, why: `its walk passed the budget of ${BUDGET} entries` }]);
    // The default budget covers it: the clone is found and remembered.
    c = spawn('true', [], { cwd: R, sandbox: { writableRoots: [R], tmp: 'none' }, pool: false });
    await new Promise((r) => c.on('close', r));
    expect(c.enforcement.notScanned).toBeUndefined();
    const before = snapshot(R);
    expect(await attack()).toEqual({ append: 'EROFS' });
    expect(snapshot(R)).toEqual(before);
    c = short();
    await new Promise((r) => c.on('close', r));
    expect(c.enforcement.notScanned?.[0].why).toMatch(/; 1 repository found there by earlier walks protected$/);
  });

  it('the memory file cannot be written, replaced, removed or planted from a sandbox whose root holds it', async () => {
    const mine = path.join(R, '.cache');
    const file = memoryFile({ XDG_CACHE_HOME: mine })!;
    const run = (code: string) =>
      py(code, { writableRoots: [R], tmp: 'none' }, { cwd: R, env: { ...env, XDG_CACHE_HOME: mine } as NodeJS.ProcessEnv });
    // Missing: it may not be created.
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let before = snapshot(R);
    expect(await run(`out['plant'] = attempt(lambda: open(${j(file)}, 'w').write('{"entries":[]}'))`)).toEqual({ plant: 'EROFS' });
    expect(snapshot(R)).toEqual(before);
    // Present: it may not be changed, replaced, removed, nor its directory moved away.
    remember(file, { entries: [path.join(lib, '.git')], bare: [] });
    const content = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(path.join(R, 'empty.json'), '{"entries":[],"bare":[]}');
    before = snapshot(R);
    const out = await run(`
out['write'] = attempt(lambda: open(${j(file)}, 'w').write('{}'))
out['rename onto'] = attempt(lambda: os.rename('empty.json', ${j(file)}))
out['unlink'] = attempt(lambda: os.unlink(${j(file)}))
out['move dir'] = attempt(lambda: os.rename(${j(path.dirname(file))}, ${j(path.dirname(file) + '.old')}))`);
    expect(out).toEqual({ write: 'EROFS', 'rename onto': 'EBUSY', unlink: 'EBUSY', 'move dir': 'EROFS' });
    expect(snapshot(R)).toEqual(before);
    expect(fs.readFileSync(file, 'utf8')).toBe(content);
  });
});

describe('the memory itself', () => {
  let T: string;
  beforeEach(() => {
    T = fs.mkdtempSync('/tmp/sbx-memfile-');
    forgetLoaded();
  });
  afterEach(() => {
    forgetLoaded();
    rmTree(T);
  });

  it('writes only what is new, drops what is gone from the disk, ignores a file it cannot read', () => {
    const file = path.join(T, 'repositories.json');
    const a = path.join(T, 'a', '.git');
    const b = path.join(T, 'b', '.git');
    fs.mkdirSync(a, { recursive: true });
    fs.mkdirSync(b, { recursive: true });
    remember(file, { entries: [a], bare: [] });
    const first = fs.statSync(file).ino;
    remember(file, { entries: [a], bare: [] }); // nothing new: not written again
    expect(fs.statSync(file).ino).toBe(first);
    rmTree(path.dirname(a));
    remember(file, { entries: [b], bare: [] }); // a is gone: dropped
    expect(rememberedUnder(file, T).entries).toEqual([b]);
    expect(rememberedUnder(file, path.join(T, 'a')).entries).toEqual([]);
    fs.writeFileSync(file, 'not json');
    expect(rememberedUnder(file, T)).toEqual({ entries: [], bare: [] });
    fs.writeFileSync(file, JSON.stringify({ entries: ['relative/.git', `${T}/c/notgit`, 5], bare: [null] }));
    expect(rememberedUnder(file, T)).toEqual({ entries: [], bare: [] });
  });

  it("makes no HOME that does not exist (nobody's /nonexistent): nothing is written, nothing made", () => {
    const home = path.join(T, 'nonexistent');
    const file = memoryFile({ HOME: home })!;
    fs.mkdirSync(path.join(T, 'r', '.git'), { recursive: true });
    remember(file, { entries: [path.join(T, 'r', '.git')], bare: [] });
    expect(fs.existsSync(home)).toBe(false);
    // With the home there, its .cache and sbx-native/ are made (0700).
    fs.mkdirSync(home);
    remember(file, { entries: [path.join(T, 'r', '.git')], bare: [] });
    expect(rememberedUnder(file, T).entries).toEqual([path.join(T, 'r', '.git')]);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  });

  it('a remembered repository counts only where it still is: not through a symlink now, not on another mount, not one the walk found', () => {
    const view = memView({
      tree: {
        '/r/top/f0': '',
        '/r/top/f1': '',
        '/r/top/f2': '',
        '/r/vendor/lib/.git/HEAD': 'ref: x',
        '/r/moved': { symlink: '/elsewhere' },
        '/elsewhere/lib/.git/HEAD': 'ref: x',
        '/r/mnt/lib/.git/HEAD': 'ref: x',
        '/r/cache/x.git/HEAD': 'ref: x',
        '/r/gone': DIR,
      },
      mounts: ['/', '/r/mnt'],
    });
    const remembered = {
      entries: ['/r/vendor/lib/.git', '/r/moved/lib/.git', '/r/mnt/lib/.git', '/r/gone/lib/.git'],
      bare: ['/r/cache/x.git'],
    };
    view.rememberedRepositories = () => remembered;
    const notMnt = (p: string, by: string) => (p === by || p.startsWith(by + '/')) && !p.startsWith('/r/mnt');
    // Budget 2: the walk stops in /r's first directory.
    const short = scanRepositories(view, ['/r'], 2, notMnt);
    expect(short.entries).toEqual(['/r/vendor/lib/.git']);
    expect(short.bare).toEqual(['/r/cache/x.git']);
    expect(short.remembered).toBe(2);
    expect(short.notScanned).toEqual([
      { root: '/r', why: 'its walk passed the budget of 2 entries; 2 repositories found there by earlier walks protected' },
    ]);
    // A whole walk does not ask the memory.
    view.rememberedRepositories = () => {
      throw new Error('asked');
    };
    const whole = scanRepositories(view, ['/r'], 1000, notMnt);
    expect(whole.notScanned).toEqual([]);
    expect(whole.remembered).toBe(0);
    // A root the shared budget did not reach is given the memory too.
    view.rememberedRepositories = () => remembered;
    const second = scanRepositories(view, ['/r/top', '/r'], 2, notMnt);
    expect(second.notScanned.map((n) => n.root)).toEqual(['/r/top', '/r']);
    expect(second.entries).toEqual(['/r/vendor/lib/.git']);
  });
});
