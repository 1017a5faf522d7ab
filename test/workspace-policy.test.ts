// Issue "Workspace policy": protected names, symlinks, deny-read, tmp modes,
// path-rule precedence and modes. Each asserts the errno and the host state.
import { execFileSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepare, run } from '../lib';
import { probe, rmTree, sh, snapshot, tempDir, userLabel } from './helpers';

const j = (p: string) => JSON.stringify(p);
/** snapshot() without the root's own times, which creating and removing test files changes. */
const tree = (dir: string) => {
  const s = snapshot(dir);
  delete s['.'];
  return s;
};
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' } });

describe(`workspace policy (as ${userLabel})`, () => {
  let W: string;
  beforeEach(() => {
    W = tempDir();
  });
  afterEach(() => rmTree(W));

  describe('.git', () => {
    it('protects a repository: status/diff/log and commit work, its config and hooks stay as they were, the work tree stays writable', async () => {
      git(W, 'init', '-q');
      git(W, '-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q', '--allow-empty', '-m', 'init');
      fs.writeFileSync(path.join(W, 'f.txt'), 'one\n');
      git(W, 'add', 'f.txt');
      const code = ['config', 'hooks'].map((n) => snapshot(path.join(W, '.git', n)));
      const env = {
        ...process.env,
        HOME: W,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'a',
        GIT_AUTHOR_EMAIL: 'a@b',
        GIT_COMMITTER_NAME: 'a',
        GIT_COMMITTER_EMAIL: 'a@b',
      };
      const r = await sh(
        'git status --short && git diff --cached --stat && git log --oneline | wc -l && echo two >> f.txt && echo tree-ok; git commit -q -m x 2>&1; echo rc=$?',
        { writableRoots: [W], tmp: 'none' },
        { cwd: W, env },
      );
      expect(r.stdout).toMatch(/^A {2}f\.txt\n/);
      expect(r.stdout).toMatch(/\n1\ntree-ok\nrc=0\n$/);
      expect(fs.readFileSync(path.join(W, 'f.txt'), 'utf8')).toBe('one\ntwo\n');
      expect(git(W, 'log', '--format=%s')).toBe('x\ninit\n');
      expect(['config', 'hooks'].map((n) => snapshot(path.join(W, '.git', n)))).toEqual(code);
    });

    it("protects a linked worktree: the .git file and its entry's pointers; its HEAD stays writable", async () => {
      const main = path.join(W, 'main');
      fs.mkdirSync(main);
      git(main, 'init', '-q');
      git(main, '-c', 'user.email=a@b', '-c', 'user.name=a', 'commit', '-q', '--allow-empty', '-m', 'init');
      git(main, 'worktree', 'add', '-q', path.join(W, 'wt'));
      const wt = path.join(W, 'wt');
      const gitdir = path.join(main, '.git', 'worktrees', 'wt');
      const head = fs.readFileSync(path.join(gitdir, 'HEAD'), 'utf8');
      const before = ['commondir', 'gitdir'].map((n) => fs.readFileSync(path.join(gitdir, n), 'utf8'));
      const r = await probe(
        `[
        ['write .git file', () => fs.writeFileSync(${j(path.join(wt, '.git'))}, 'gitdir: /elsewhere')],
        ['write commondir', () => fs.writeFileSync(${j(path.join(gitdir, 'commondir'))}, '/elsewhere')],
        ['write gitdir', () => fs.writeFileSync(${j(path.join(gitdir, 'gitdir'))}, '/elsewhere')],
        ['create config.worktree', () => fs.writeFileSync(${j(path.join(gitdir, 'config.worktree'))}, '[core]')],
        ['write gitdir HEAD', () => fs.writeFileSync(${j(path.join(gitdir, 'HEAD'))}, ${j(head)})],
        ['write work tree', () => fs.writeFileSync(${j(path.join(wt, 'new'))}, 'x')],
      ]`,
        { writableRoots: [wt, main], tmp: 'none' },
      );
      expect(r).toEqual({
        'write .git file': 'EROFS',
        'write commondir': 'EROFS',
        'write gitdir': 'EROFS',
        'create config.worktree': 'EROFS',
        'write gitdir HEAD': 'ok',
        'write work tree': 'ok',
      });
      expect(fs.readFileSync(path.join(wt, '.git'), 'utf8')).toBe(`gitdir: ${gitdir}\n`);
      expect(['commondir', 'gitdir'].map((n) => fs.readFileSync(path.join(gitdir, n), 'utf8'))).toEqual(before);
      expect(fs.existsSync(path.join(gitdir, 'config.worktree'))).toBe(false);
    });

    it("an existing .git file below a root's top opens for writing only as uv's marker in uv's cache; one at a root's top is pinned; a missing .git at a root's top cannot be made", async () => {
      const cache = path.join(W, 'sdists-v9');
      const top = path.join(W, 'top');
      fs.mkdirSync(cache);
      fs.mkdirSync(top);
      fs.writeFileSync(path.join(cache, '.git'), '');
      fs.writeFileSync(path.join(top, '.git'), '');
      const before = snapshot(W);
      const r = await probe(
        `[
        ['not the uv marker: into gitdir:', () => fs.writeFileSync(${j(path.join(cache, '.git'))}, 'gitdir: ${W}/x')],
        ['marker at a top into gitdir:', () => fs.writeFileSync(${j(path.join(top, '.git'))}, 'gitdir: ${W}/x')],
        ['root marker', () => fs.writeFileSync(${j(path.join(W, '.git'))}, '')],
        ['root repository', () => fs.mkdirSync(${j(path.join(W, '.git'))})],
      ]`,
        { writableRoots: [W, top], tmp: 'none' },
      );
      // A .git made at a root's top could become a repository whose config or hooks run at the user's next git command;
      // an existing .git file anywhere could become a gitdir: pointer.
      expect(r).toEqual({
        'not the uv marker: into gitdir:': 'EROFS',
        'marker at a top into gitdir:': 'EROFS',
        'root marker': 'EROFS',
        'root repository': 'EROFS',
      });
      expect(fs.readFileSync(path.join(cache, '.git'), 'utf8')).toBe('');
      // With UV_CACHE_DIR naming W, W/sdists-v9/.git is uv's marker: uv reopens it.
      const uv = await probe(
        `[['open marker for writing', () => fs.closeSync(fs.openSync(${j(path.join(cache, '.git'))}, 'w'))]]`,
        {
          writableRoots: [W, top],
          tmp: 'none',
        },
        { env: { ...process.env, UV_CACHE_DIR: W } },
      );
      expect(uv).toEqual({ 'open marker for writing': 'ok' });
      const { 'sdists-v9/.git': opened, ...rest } = snapshot(W); // the marker was opened for writing: its mtime moves
      const { 'sdists-v9/.git': was, ...restBefore } = before;
      expect([rest, opened.split(':').slice(0, 4)]).toEqual([restBefore, was.split(':').slice(0, 4)]);
    });

    it("a fresh project: git init at the top of a root is refused (no repository with the command's config and hooks), --allow-git-writes permits it", async () => {
      const before = snapshot(W);
      const r = await sh(
        'git init -q . 2>&1; echo rc=$?',
        { writableRoots: [W], tmp: 'none' },
        { cwd: W, env: { PATH: process.env.PATH, HOME: W } },
      );
      expect(r.stdout).toMatch(/Read-only file system[\s\S]*rc=[1-9]/);
      expect(snapshot(W)).toEqual(before);
      const ok = await sh(
        'git init -q . && echo rc=$?',
        { writableRoots: [W], tmp: 'none', allowGitWrites: true },
        { cwd: W, env: { PATH: process.env.PATH, HOME: W } },
      );
      expect(ok.stdout).toBe('rc=0\n');
      expect(fs.statSync(path.join(W, '.git', 'config')).isFile()).toBe(true);
    });

    it('protects the repository of a project that lives under a writable /tmp (tmp host)', async () => {
      // W is under /tmp, which tmp 'host' makes writable: W needs no mount of its own, but its names still count.
      fs.mkdirSync(path.join(W, '.git'));
      const r = await probe(
        `[['write .git', () => fs.writeFileSync(${j(path.join(W, '.git', 'config'))}, 'x')], ['write tree', () => fs.writeFileSync(${j(path.join(W, 'f'))}, 'x')]]`,
        { writableRoots: [W], tmp: 'host' },
      );
      expect(r).toEqual({ 'write .git': 'EROFS', 'write tree': 'ok' });
    });

    it('lets allowGitWrites lift the protection', async () => {
      fs.mkdirSync(path.join(W, '.git'));
      const r = await probe(`[['write', () => fs.writeFileSync(${j(path.join(W, '.git', 'x'))}, 'x')]]`, {
        writableRoots: [W],
        tmp: 'none',
        allowGitWrites: true,
      });
      expect(r).toEqual({ write: 'ok' });
    });
  });

  it('keeps protected files read-only, pinned and intact', async () => {
    fs.writeFileSync(path.join(W, '.bashrc'), 'safe');
    fs.mkdirSync(path.join(W, '.vscode'));
    fs.writeFileSync(path.join(W, '.vscode', 'settings.json'), '{}');
    fs.mkdirSync(path.join(W, '.claude', 'commands'), { recursive: true });
    fs.mkdirSync(path.join(W, 'custom'));
    const before = tree(W);
    const r = await probe(
      `[
      ['append .bashrc', () => fs.appendFileSync(${j(path.join(W, '.bashrc'))}, 'evil')],
      ['replace .bashrc', () => fs.renameSync(${j(path.join(W, 'new'))}, ${j(path.join(W, '.bashrc'))})],
      ['unlink .bashrc', () => fs.unlinkSync(${j(path.join(W, '.bashrc'))})],
      ['chmod .bashrc', () => fs.chmodSync(${j(path.join(W, '.bashrc'))}, 0o777)],
      ['write .vscode', () => fs.writeFileSync(${j(path.join(W, '.vscode', 'settings.json'))}, 'x')],
      ['rename .vscode', () => fs.renameSync(${j(path.join(W, '.vscode'))}, ${j(path.join(W, 'v'))})],
      ['create in .claude/commands', () => fs.writeFileSync(${j(path.join(W, '.claude', 'commands', 'x.md'))}, 'x')],
      ['create in custom', () => fs.writeFileSync(${j(path.join(W, 'custom', 'x'))}, 'x')],
    ]`,
      { writableRoots: [W], tmp: 'none', protect: ['custom'] },
    );
    expect(r).toEqual({
      'append .bashrc': 'EROFS',
      'replace .bashrc': 'ENOENT',
      'unlink .bashrc': 'EBUSY',
      'chmod .bashrc': 'EROFS',
      'write .vscode': 'EROFS',
      'rename .vscode': 'EBUSY',
      'create in .claude/commands': 'EROFS',
      'create in custom': 'EROFS',
    });
    fs.writeFileSync(path.join(W, 'new'), 'x');
    const r2 = await probe(`[['replace .bashrc', () => fs.renameSync(${j(path.join(W, 'new'))}, ${j(path.join(W, '.bashrc'))})]]`, {
      writableRoots: [W],
      tmp: 'none',
    });
    expect(r2).toEqual({ 'replace .bashrc': 'EBUSY' });
    fs.unlinkSync(path.join(W, 'new'));
    expect(tree(W)).toEqual(before);
  });

  it('handles a protected name that is a symlink into the root (seed 001)', async () => {
    const target = path.join(W, '.auxiliary', 'configuration', 'coders', 'codex');
    fs.mkdirSync(target, { recursive: true });
    fs.writeFileSync(path.join(target, 'config.toml'), 'model = "x"\n');
    fs.symlinkSync('.auxiliary/configuration/coders/codex', path.join(W, '.codex'));
    const before = tree(W);
    const ok = await sh('echo unrelated > other.txt && cat .codex/config.toml', { writableRoots: [W], tmp: 'none' }, { cwd: W });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('model = "x"\n');
    const r = await sh(
      'echo x > .codex/config.toml; echo "w=$?"; echo x > .auxiliary/configuration/coders/codex/new; echo "t=$?"; rm .codex && mkdir .codex && echo x > .codex/config.toml; echo "swap=$?"',
      { writableRoots: [W], tmp: 'none' },
      { cwd: W },
    );
    expect(r.stdout).toBe('w=2\nt=2\nswap=1\n');
    expect(r.stderr).toMatch(/config.toml: Read-only file system/);
    expect(r.stderr).toMatch(/rm: cannot remove '.codex': Device or resource busy/);
    expect(fs.readlinkSync(path.join(W, '.codex'))).toBe('.auxiliary/configuration/coders/codex');
    fs.unlinkSync(path.join(W, 'other.txt'));
    expect(tree(W)).toEqual(before);
  });

  it('gives no write access through a symlink that points outside every root', async () => {
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 'f'), 'orig');
    fs.symlinkSync(path.join(outside, 'f'), path.join(W, 'link'));
    const r = await probe(`[['write via link', () => fs.writeFileSync(${j(path.join(W, 'link'))}, 'x')]]`, {
      writableRoots: [W],
      tmp: 'none',
    });
    expect(r).toEqual({ 'write via link': 'EROFS' });
    expect(fs.readFileSync(path.join(outside, 'f'), 'utf8')).toBe('orig');
    rmTree(outside);
  });

  it('keeps hard-link semantics for a link that existed before the sandbox (documented in the threat model)', async () => {
    // A pre-existing hard link shares its inode with a file outside the root:
    // writing through it changes that file. Creating such links from inside is refused (EXDEV).
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 'shared'), 'orig');
    try {
      fs.linkSync(path.join(outside, 'shared'), path.join(W, 'shared'));
    } catch (e) {
      rmTree(outside);
      if ((e as NodeJS.ErrnoException).code === 'EPERM') return expect.fail('cannot create the fixture link (protected_hardlinks)');
      throw e;
    }
    const r = await probe(`[['write via old link', () => fs.writeFileSync(${j(path.join(W, 'shared'))}, 'changed')]]`, {
      writableRoots: [W],
      tmp: 'none',
    });
    expect(r).toEqual({ 'write via old link': 'ok' });
    expect(fs.readFileSync(path.join(outside, 'shared'), 'utf8')).toBe('changed');
    expect(fs.statSync(path.join(W, 'shared')).ino).toBe(fs.statSync(path.join(outside, 'shared')).ino);
    rmTree(outside);
  });

  it('accepts a writable root given through a symlink, by its logical and its real path', async () => {
    const realDir = path.join(W, 'real');
    fs.mkdirSync(realDir);
    fs.symlinkSync(realDir, path.join(W, 'alias'));
    const r = await probe(
      `[
      ['logical', () => fs.writeFileSync(${j(path.join(W, 'alias', 'a'))}, 'x')],
      ['real', () => fs.writeFileSync(${j(path.join(realDir, 'b'))}, 'x')],
    ]`,
      { writableRoots: [path.join(W, 'alias')], tmp: 'none' },
    );
    expect(r).toEqual({ logical: 'ok', real: 'ok' });
    expect(fs.readdirSync(realDir).sort()).toEqual(['a', 'b']);
  });

  it('denyRead: a directory looks empty and is read-only, a file reads empty and cannot be written', async () => {
    fs.mkdirSync(path.join(W, 'secrets'));
    fs.writeFileSync(path.join(W, 'secrets', 'key'), 'KEY');
    fs.writeFileSync(path.join(W, 'token'), 'TOKEN');
    const before = tree(W);
    const devBefore = fs.readdirSync('/dev').sort();
    const r = await probe(
      `[
      ['list dir', () => { if (fs.readdirSync(${j(path.join(W, 'secrets'))}).length) throw Object.assign(new Error(), { code: 'NOT_EMPTY' }); }],
      ['read key', () => fs.readFileSync(${j(path.join(W, 'secrets', 'key'))})],
      ['create in dir', () => fs.writeFileSync(${j(path.join(W, 'secrets', 'new'))}, 'x')],
      ['read file', () => { if (fs.readFileSync(${j(path.join(W, 'token'))}, 'utf8') !== '') throw Object.assign(new Error(), { code: 'NOT_EMPTY' }); }],
      ['write file', () => fs.writeFileSync(${j(path.join(W, 'token'))}, 'x')],
      ['unlink file', () => fs.unlinkSync(${j(path.join(W, 'token'))})],
      ['write root', () => fs.writeFileSync(${j(path.join(W, 'ok'))}, 'x')],
    ]`,
      { writableRoots: [W], tmp: 'none', denyRead: [path.join(W, 'secrets'), path.join(W, 'token')] },
    );
    expect(r).toEqual({
      'list dir': 'ok',
      'read key': 'ENOENT',
      'create in dir': 'EROFS',
      'read file': 'ok',
      'write file': 'EROFS',
      'unlink file': 'EBUSY',
      'write root': 'ok',
    });
    fs.unlinkSync(path.join(W, 'ok'));
    expect(tree(W)).toEqual(before);
    expect(fs.readdirSync('/dev').sort()).toEqual(devBefore);
  });

  it('applies the most specific rule: /w write, /w/a none, /w/a/b write', async () => {
    fs.mkdirSync(path.join(W, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(W, 'a', 'hidden'), 'h');
    const r = await probe(
      `[
      ['write /w', () => fs.writeFileSync(${j(path.join(W, 'x'))}, 'x')],
      ['read /w/a/hidden', () => fs.readFileSync(${j(path.join(W, 'a', 'hidden'))})],
      ['write /w/a', () => fs.writeFileSync(${j(path.join(W, 'a', 'y'))}, 'x')],
      ['write /w/a/b', () => fs.writeFileSync(${j(path.join(W, 'a', 'b', 'z'))}, 'x')],
    ]`,
      { tmp: 'none', rules: { [W]: 'write', [path.join(W, 'a')]: 'none', [path.join(W, 'a', 'b')]: 'write' } },
    );
    expect(r).toEqual({ 'write /w': 'ok', 'read /w/a/hidden': 'ENOENT', 'write /w/a': 'EROFS', 'write /w/a/b': 'ok' });
    expect(fs.readFileSync(path.join(W, 'a', 'b', 'z'), 'utf8')).toBe('x');
    expect(fs.existsSync(path.join(W, 'a', 'y'))).toBe(false);
    // On a tie none beats write beats read.
    const tie = prepare('/bin/true', [], { sandbox: { tmp: 'none', writableRoots: [W], denyRead: [W], readOnly: [W] } });
    expect(tie.policy.rules.filter((r) => r.from !== 'network-off')).toEqual([{ path: W, access: 'none', from: 'denyRead' }]);
  });

  describe('tmp', () => {
    it('host: /tmp is writable (the default)', async () => {
      const r = await probe(`[['tmp', () => { const d = fs.mkdtempSync('/tmp/sbx-tmp-host-'); fs.rmdirSync(d); }]]`, {
        writableRoots: [W],
      });
      expect(r).toEqual({ tmp: 'ok' });
    });
    it('private: an empty writable /tmp that vanishes', async () => {
      const hostTmp = fs.readdirSync('/tmp').sort();
      // Only the writable root (it lives under /tmp) shows through the fresh /tmp.
      const r = await sh(
        'ls -A /tmp; echo x > /tmp/private-file && cat /tmp/private-file; echo "TMPDIR=$TMPDIR"',
        { writableRoots: [W], tmp: 'private' },
        { cwd: W, env: { ...process.env, TMPDIR: os.homedir() } },
      );
      expect(r.stdout).toBe(`${path.basename(W)}\nx\nTMPDIR=/tmp\n`);
      expect(fs.existsSync('/tmp/private-file')).toBe(false);
      expect(fs.readdirSync('/tmp').filter((n) => !hostTmp.includes(n) && !n.startsWith('sbx-'))).toEqual([]);
    });
    it('none: /tmp is read-only', async () => {
      const r = await probe(`[['tmp', () => fs.writeFileSync('/tmp/sbx-none-test', 'x')]]`, { writableRoots: [W], tmp: 'none' });
      expect(r).toEqual({ tmp: 'EROFS' });
    });
  });

  describe('modes', () => {
    it('read-only: nothing is writable', async () => {
      const r = await probe(
        `[['root', () => fs.writeFileSync(${j(path.join(W, 'x'))}, 'x')], ['tmp', () => fs.writeFileSync('/tmp/sbx-ro-test', 'x')]]`,
        { mode: 'read-only' },
      );
      expect(r).toEqual({ root: 'EROFS', tmp: 'EROFS' });
      expect(() => prepare('/bin/true', [], { sandbox: { mode: 'read-only', writableRoots: [W] } })).toThrow(/contradict mode 'read-only'/);
    });
    it('full: no filesystem restriction, still no network and no privileges', async () => {
      const r = await run(
        '/bin/sh',
        ['-c', `echo x > ${W}/full && grep -E '^(NoNewPrivs|CapEff)' /proc/self/status && cat /proc/net/dev | tail -n +3 | cut -d: -f1`],
        { sandbox: { mode: 'full' } },
      );
      expect(r.stdout.replace(/\s+/g, ' ').trim()).toBe('CapEff: 0000000000000000 NoNewPrivs: 1 lo');
      expect(fs.readFileSync(path.join(W, 'full'), 'utf8')).toBe('x\n');
    });
  });

  it('rejects bad input with the key and value', () => {
    const bad: [any, RegExp][] = [
      [{ mode: 'rw' }, /mode = "rw": expected 'read-only'/],
      [{ tmp: 'shared' }, /tmp = "shared"/],
      [{ rules: { '/x': 'rw' } }, /rules\["\/x"\] = "rw"/],
      [{ rules: { rel: 'read' } }, /rules\["rel"\] = "rel": path must be absolute/],
      [{ readOnly: '/x' }, /readOnly = "\/x": expected an array/],
      [{ denyRead: [42] }, /denyRead\[0\] = 42: expected a string path/],
      [{ protect: ['../x'] }, /protect\[0\] = "..\/x"/],
      [{ allowGitWrites: 'yes' }, /allowGitWrites = "yes": expected a boolean/],
      [{ writableRoots: ['/' + 'a'.repeat(5000)] }, /PATH_MAX/],
    ];
    for (const [sandbox, msg] of bad)
      expect(() => prepare('/bin/true', [], { sandbox }), JSON.stringify(sandbox).slice(0, 60)).toThrow(msg);
  });
});
