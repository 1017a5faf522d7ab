// The repository model (issue 11, docs/policy.md "The repository model"): in
// an existing repository a sandboxed command commits, branches, checks out
// and stashes, but cannot write what makes git run code or look elsewhere
// (config, hooks, commondir, worktree pointers, submodule repositories,
// included config files), and no new repository can be made anywhere in a
// writable area (no new `.git` or `HEAD`). Each attack asserts the errno,
// that the host is unchanged, and that git run outside afterwards runs
// nothing the command wrote. Real git, as root and as nobody.
import { execFileSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmTree, sh, snapshot, tempDir, userLabel } from './helpers';
import { j, py } from './security/lib';

const ID = { GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' };

describe(`the repository model (as ${userLabel})`, () => {
  let T: string, R: string, pwned: string, env: NodeJS.ProcessEnv;
  // Git as the user runs it outside the sandbox.
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', env });
  const sandbox = (extra: object = {}) => ({ writableRoots: [R], tmp: 'none' as const, ...extra });
  /** What in .git makes git run code, and the rest of R outside .git: the attacks must leave both as they were. */
  const codeState = () => {
    const s = snapshot(R);
    return Object.fromEntries(
      Object.entries(s).filter(
        ([k]) =>
          k !== '.' &&
          k !== '.git' &&
          (!k.startsWith('.git/') || /^\.git\/(config|hooks|commondir|modules|worktrees\/[^/]+\/(commondir|gitdir))/.test(k)),
      ),
    );
  };
  beforeEach(() => {
    T = tempDir('sbx-git-');
    R = path.join(T, 'proj');
    fs.mkdirSync(R);
    pwned = path.join(T, 'pwned');
    env = { PATH: process.env.PATH, HOME: T, GIT_CONFIG_NOSYSTEM: '1', LANG: 'C', ...ID };
    git(R, 'init', '-q');
    fs.writeFileSync(path.join(R, 'f'), 'one\n');
    git(R, 'add', 'f');
    git(R, 'commit', '-qm', 'one');
  });
  afterEach(() => rmTree(T));
  /** Git outside, in `dir`: its status, and nothing the command planted ran. */
  const outsideRunsNothing = (dir: string) => {
    git(dir, 'status', '--short');
    git(dir, 'log', '--oneline', '-1');
    expect(fs.existsSync(pwned)).toBe(false);
  };

  it('commit, branch, checkout, stash and log work inside; config and hooks stay as they were', async () => {
    const before = codeState();
    const r = await sh(
      'echo two >> f && git commit -qam two && git branch b && git checkout -q b && echo three >> f && git stash -q && git checkout -q main && ' +
        'git stash pop -q && git commit -qam three && git log --format=%s | tr "\\n" " "; git status --short',
      sandbox(),
      { cwd: R, env },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('three two one ');
    expect(git(R, 'log', '--format=%s', 'main')).toBe('three\ntwo\none\n');
    expect(git(R, 'branch', '--format=%(refname:short)')).toBe('b\nmain\n');
    const after = codeState();
    delete before.f;
    delete after.f;
    expect(after).toEqual(before);
  });

  it('what makes git run code cannot be written: config, a hook, core.hooksPath, commondir, config.worktree', async () => {
    const before = codeState();
    const fsmonitor = `[core]\n\tfsmonitor = touch ${pwned}\n`;
    const out = await py(
      `
out['append config'] = attempt(lambda: open('.git/config', 'a').write(${j(fsmonitor)}))
out['replace config'] = attempt(lambda: (open('.git/config.new', 'w').write(${j(fsmonitor)}), os.rename('.git/config.new', '.git/config')))
os.unlink('.git/config.new')
out['remove config'] = attempt(lambda: os.unlink('.git/config'))
out['add hook'] = attempt(lambda: open('.git/hooks/pre-commit', 'w'))
out['replace hooks'] = attempt(lambda: os.rename('.git/hooks', '.git/hooks.old'))
out['commondir'] = attempt(lambda: open('.git/commondir', 'w'))
out['config.worktree'] = attempt(lambda: open('.git/config.worktree', 'w'))
out['rename .git away'] = attempt(lambda: os.rename('.git', 'git.old'))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      'append config': 'EROFS',
      'replace config': 'EROFS', // init refuses the rename before the kernel's EBUSY on the bound config
      'remove config': 'EBUSY',
      'add hook': 'EROFS',
      'replace hooks': 'EROFS',
      commondir: 'EROFS',
      'config.worktree': 'EROFS',
      'rename .git away': 'EROFS',
    });
    const r = await sh(`git config core.hooksPath ${T}; echo rc=$?`, sandbox(), { cwd: R, env });
    expect(r.stdout).toBe('rc=4\n');
    expect(r.stderr).toMatch(/could not write config file .*Read-only file system/);
    expect(codeState()).toEqual(before);
    outsideRunsNothing(R);
  });

  it('no new repository: git init sub (then a hook), git init --bare, a hand-made HEAD, git clone of a local repository, git worktree add', async () => {
    const src = path.join(T, 'src');
    fs.mkdirSync(src);
    git(src, 'init', '-q');
    git(src, 'commit', '-q', '--allow-empty', '-m', 'x');
    const before = codeState();
    const r = await sh(
      `git init -q sub; echo init=$?; mkdir -p sub/.git/hooks 2>/dev/null; echo mkdir=$?; git init -q --bare bare; echo bare=$?; ` +
        `git clone -q ${src} clone; echo clone=$?; git worktree add -q wt 2>/dev/null; echo worktree=$?; rm -rf sub bare clone wt`,
      sandbox(),
      { cwd: R, env },
    );
    expect(r.stdout).toMatch(/^init=[1-9]\d*\nmkdir=[1-9]\d*\nbare=[1-9]\d*\nclone=[1-9]\d*\nworktree=[1-9]\d*\n$/);
    const out = await py(
      `
os.makedirs('a/b')
out['mkdir .git'] = attempt(lambda: os.mkdir('a/.git'))
out['.git file'] = attempt(lambda: open('a/.git', 'w'))
out['.git symlink'] = attempt(lambda: os.symlink('${R}/.git', 'a/.git'))
out['.git rename'] = attempt(lambda: os.rename('a/b', 'a/.git'))
out['HEAD'] = attempt(lambda: open('a/HEAD', 'w'))
out['HEAD by rename'] = attempt(lambda: (open('a/b/x', 'w').close(), os.rename('a/b/x', 'a/HEAD')))
out['HEAD by link'] = attempt(lambda: os.link('f', 'a/HEAD'))
out['worktrees/evil/HEAD'] = attempt(lambda: (os.makedirs('.git/worktrees/evil'), open('.git/worktrees/evil/HEAD', 'w')))
out['modules/evil'] = attempt(lambda: os.makedirs('.git/modules/evil'))
os.unlink('a/b/x'); os.rmdir('.git/worktrees/evil'); os.rmdir('.git/worktrees'); os.rmdir('a/b'); os.rmdir('a')`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      'mkdir .git': 'EROFS',
      '.git file': 'EROFS',
      '.git symlink': 'EROFS',
      '.git rename': 'EROFS',
      HEAD: 'EROFS',
      'HEAD by rename': 'EROFS',
      'HEAD by link': 'EROFS',
      'worktrees/evil/HEAD': 'EROFS',
      'modules/evil': 'EROFS',
    });
    expect(codeState()).toEqual(before);
    expect(fs.readdirSync(R).sort()).toEqual(['.git', 'f']);
    outsideRunsNothing(R);
  });

  it("a directory that holds a HEAD (logs/, a remote's refs) cannot grow into a git directory, nor be moved where git would find it", async () => {
    git(R, 'update-ref', 'refs/remotes/origin/main', 'HEAD');
    git(R, 'symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main');
    git(R, 'init', '-q', '--bare', 'vendor.git'); // a repository below the top: found by the walk, it stays where it is
    fs.mkdirSync(path.join(R, 'sub', 'x'), { recursive: true });
    execFileSync('git', ['init', '-q', path.join(R, 'sub', 'x')]);
    const before = codeState();
    const out = await py(
      `
out['logs/objects'] = attempt(lambda: os.mkdir('.git/logs/objects'))
out['logs/commondir'] = attempt(lambda: open('.git/logs/commondir', 'w'))
out['origin/objects'] = attempt(lambda: os.mkdir('.git/refs/remotes/origin/objects'))
out['move logs'] = attempt(lambda: os.rename('.git/logs', 'docs'))
out['move origin'] = attempt(lambda: os.rename('.git/refs/remotes/origin', 'docs'))
os.mkdir('docs')
out['exchange'] = attempt(lambda: sc(316 if NR['ioctl'] == 16 else 276, -100, ctypes.c_char_p(b'docs'), -100, ctypes.c_char_p(b'.git/logs'), 2))
out['move a bare repository'] = attempt(lambda: os.rename('vendor.git', 'docs/vendor'))
out['exchange a bare repository'] = attempt(lambda: sc(316 if NR['ioctl'] == 16 else 276, -100, ctypes.c_char_p(b'docs'), -100, ctypes.c_char_p(b'vendor.git'), 2))
out['move a work tree with its .git'] = attempt(lambda: os.rename('sub/x', 'docs/x'))
out['move the directory above it'] = attempt(lambda: os.rename('sub', 'sub2'))
os.rmdir('docs')`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      'logs/objects': 'EROFS',
      'logs/commondir': 'EROFS',
      'origin/objects': 'EROFS',
      'move logs': 'EROFS',
      'move origin': 'EROFS',
      exchange: 'EROFS',
      'move a bare repository': 'EROFS',
      'exchange a bare repository': 'EROFS',
      'move a work tree with its .git': 'EROFS',
      // The walk of the root finds sub/x: the directories on the way to it stay where they are, as for a root's own.
      'move the directory above it': 'EROFS',
    });
    expect(codeState()).toEqual(before);
    expect(fs.readdirSync(path.join(R, '.git', 'logs')).sort()).toEqual(['HEAD', 'refs']);
    expect(fs.readdirSync(R).sort()).toEqual(['.git', 'f', 'sub', 'vendor.git']);
  });

  it('a fresh project: nothing can make a repository below the top either; allowGitWrites can', async () => {
    const fresh = path.join(T, 'fresh');
    fs.mkdirSync(path.join(fresh, 'pkg'), { recursive: true });
    const r = await sh(`cd pkg && git init -q; echo rc=$?`, { writableRoots: [fresh], tmp: 'none' }, { cwd: fresh, env });
    expect(r.stdout).toBe('rc=1\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(fs.readdirSync(path.join(fresh, 'pkg'))).toEqual([]);
    const ok = await sh(
      `cd pkg && git init -q && git config core.fsmonitor false && echo rc=$?`,
      { writableRoots: [fresh], tmp: 'none', allowGitWrites: true },
      { cwd: fresh, env },
    );
    expect(ok.stdout).toBe('rc=0\n');
    expect(git(path.join(fresh, 'pkg'), 'config', 'core.fsmonitor')).toBe('false\n');
  });

  it('a .git marker file at the top of a root outside any repository cannot become a gitdir: pointer', async () => {
    const top = path.join(T, 'marked');
    fs.mkdirSync(top);
    fs.writeFileSync(path.join(top, '.git'), '');
    const before = snapshot(top);
    const out = await py(
      `
out['write'] = attempt(lambda: open('.git', 'w').write('gitdir: ${R}/.git'))
out['unlink'] = attempt(lambda: os.unlink('.git'))
out['rename'] = attempt(lambda: os.rename('.git', 'x'))`,
      { writableRoots: [top], tmp: 'none' },
      { cwd: top },
    );
    expect(out).toEqual({ write: 'EROFS', unlink: 'EBUSY', rename: 'EBUSY' });
    expect(snapshot(top)).toEqual(before);
  });

  it('a linked worktree: commits work in it; its pointers and the common config cannot be written', async () => {
    const wt = path.join(T, 'wt');
    git(R, 'worktree', 'add', '-q', wt);
    const entry = path.join(R, '.git', 'worktrees', 'wt');
    const before = codeState();
    const out = await py(
      `
out['commondir'] = attempt(lambda: open('${entry}/commondir', 'w'))
out['gitdir'] = attempt(lambda: open('${entry}/gitdir', 'w'))
out['common config'] = attempt(lambda: open('${R}/.git/config', 'a'))
out['.git file'] = attempt(lambda: open('.git', 'w'))`,
      { writableRoots: [wt], tmp: 'none' },
      { cwd: wt },
    );
    expect(out).toEqual({ commondir: 'EROFS', gitdir: 'EROFS', 'common config': 'EROFS', '.git file': 'EROFS' });
    const r = await sh(
      'echo w >> f && git commit -qam in-worktree && git log --format=%s -1',
      { writableRoots: [wt, R], tmp: 'none' },
      { cwd: wt, env },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('in-worktree\n');
    expect(codeState()).toEqual(before);
    outsideRunsNothing(wt);
  });

  it('a submodule: its repository under .git/modules and its .git file are read-only; a file the config includes too', async () => {
    const src = path.join(T, 'lib');
    fs.mkdirSync(src);
    git(src, 'init', '-q');
    git(src, 'commit', '-q', '--allow-empty', '-m', 'lib');
    git(R, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', src, 'lib');
    git(R, 'commit', '-qm', 'sub');
    fs.writeFileSync(path.join(R, 'shared.gitconfig'), '');
    git(R, 'config', 'include.path', '../shared.gitconfig');
    const before = codeState();
    const shared = fs.readFileSync(path.join(R, 'shared.gitconfig'), 'utf8');
    const out = await py(
      `
out['module config'] = attempt(lambda: open('.git/modules/lib/config', 'a'))
out['module hook'] = attempt(lambda: open('.git/modules/lib/hooks/post-checkout', 'w'))
out['lib/.git'] = attempt(lambda: open('lib/.git', 'w'))
out['included'] = attempt(lambda: open('shared.gitconfig', 'a'))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ 'module config': 'EROFS', 'module hook': 'EROFS', 'lib/.git': 'EROFS', included: 'EROFS' });
    expect(codeState()).toEqual(before);
    expect(fs.readFileSync(path.join(R, 'shared.gitconfig'), 'utf8')).toBe(shared);
    outsideRunsNothing(R);
  });

  it('core.hooksPath set to a directory of the work tree: that directory is the hooks, read-only', async () => {
    fs.mkdirSync(path.join(R, '.githooks'));
    fs.writeFileSync(path.join(R, '.githooks', 'pre-commit'), '#!/bin/sh\nexit 0\n');
    fs.chmodSync(path.join(R, '.githooks', 'pre-commit'), 0o755);
    git(R, 'config', 'core.hooksPath', '.githooks');
    const before = codeState();
    const out = await py(
      `
out['edit hook'] = attempt(lambda: open('.githooks/pre-commit', 'a').write('touch ${pwned}\\n'))
out['add hook'] = attempt(lambda: open('.githooks/post-commit', 'w'))
out['rename away'] = attempt(lambda: os.rename('.githooks', 'hooks.old'))`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({ 'edit hook': 'EROFS', 'add hook': 'EROFS', 'rename away': 'EBUSY' });
    const r = await sh('echo x >> f && git commit -qam with-hooks && echo ok', sandbox(), { cwd: R, env });
    expect(r.stdout).toBe('ok\n');
    expect(codeState()).toEqual({ ...before, f: codeState().f });
    git(R, 'commit', '-q', '--allow-empty', '-m', 'outside');
    expect(fs.existsSync(pwned)).toBe(false);
  });

  it("uv's empty marker: a new regular .git file only in uv's sdists bucket", async () => {
    const cache = path.join(R, 'uvcache');
    const out = await py(
      `
os.makedirs('uvcache/sdists-v11'); os.makedirs('uvcache/other')
out['marker'] = attempt(lambda: open('uvcache/sdists-v11/.git', 'w').close())
out['reopen'] = attempt(lambda: open('uvcache/sdists-v11/.git', 'w').close())
out['elsewhere'] = attempt(lambda: open('uvcache/other/.git', 'w'))
out['as a directory'] = attempt(lambda: os.mkdir('uvcache/sdists-v12/.git') if os.path.isdir('uvcache/sdists-v12') or os.mkdir('uvcache/sdists-v12') is None else None)`,
      sandbox(),
      { cwd: R, env: { ...env, UV_CACHE_DIR: cache } },
    );
    expect(out).toEqual({ marker: 'ok', reopen: 'ok', elsewhere: 'EROFS', 'as a directory': 'EROFS' });
    expect(fs.statSync(path.join(cache, 'sdists-v11', '.git')).size).toBe(0);
    expect(fs.readdirSync(cache).sort()).toEqual(['other', 'sdists-v11', 'sdists-v12']);
  });
});
