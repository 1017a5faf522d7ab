// Protected paths under renames and symlinks (issue 11, section 1). A
// read-only bind pins a protected path's name, not the directories above it:
// renaming a parent used to move the protection away and free the name. The
// directories on the way from a writable root to a protected path (existing
// or not, through symlinks too) may not be renamed away or replaced; the
// symlinks on the way are pinned; a protected symlink's target is protected
// whether or not it exists; and a root inside a repository gets no .git of its
// own. Each test asserts the errno and that the host is unchanged.
import { execFileSync, spawnSync } from 'child_process';
import fs from 'fs';
import path from 'path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepare } from '../lib';
import { repoRoot, rmTree, sh, snapshot, tempDir, userLabel } from './helpers';
import { j, py } from './security/lib';

const RENAME2 = "316 if NR['ioctl'] == 16 else 276";
const EXCHANGE = 2;
/** snapshot() without the root's own entry, whose mtime moves when a test makes and removes its tools there. */
const tree = (dir: string) => {
  const s = snapshot(dir);
  delete s['.'];
  return s;
};
const cli = (args: string[], cwd: string) =>
  spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'sbx-native.js'), ...args], { cwd, encoding: 'utf8' });
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'init.defaultBranch=main', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
  });

describe(`protected paths under renames and symlinks (as ${userLabel})`, () => {
  let R: string;
  beforeEach(() => {
    R = tempDir('sbx-ppath-');
  });
  afterEach(() => rmTree(R));
  const sandbox = (roots: string[] = [R]) => ({ writableRoots: roots, tmp: 'none' as const });
  const unchanged = async <T>(dir: string, fn: () => Promise<T>): Promise<T> => {
    const before = tree(dir);
    const out = await fn();
    expect(tree(dir)).toEqual(before);
    return out;
  };

  it('.claude/commands exists: .claude cannot be renamed away, exchanged or replaced; other directories still rename', async () => {
    fs.mkdirSync(path.join(R, '.claude', 'commands'), { recursive: true });
    fs.writeFileSync(path.join(R, '.claude', 'commands', 'deploy.md'), 'host\n');
    const out = await unchanged(R, () =>
      py(
        `
os.mkdir('x'); os.makedirs('src/.claude')
out['rename'] = attempt(lambda: os.rename('.claude', '.claude.old'))
out['exchange'] = sc(${RENAME2}, -100, ctypes.c_char_p(b'x'), -100, ctypes.c_char_p(b'.claude'), ${EXCHANGE})
out['exchange-from'] = sc(${RENAME2}, -100, ctypes.c_char_p(b'.claude'), -100, ctypes.c_char_p(b'x'), ${EXCHANGE})
out['onto'] = attempt(lambda: os.rename('x', '.claude'))
out['absolute'] = attempt(lambda: os.rename(${j(path.join(R, '.claude'))}, ${j(path.join(R, 'y'))}))
out['commands'] = attempt(lambda: os.rename('.claude/commands', 'x/commands'))
out['write'] = attempt(lambda: open('.claude/commands/deploy.md', 'w'))
out['same-name-below'] = attempt(lambda: os.rename('src/.claude', 'src/moved'))
os.rmdir('src/moved'); os.rmdir('src'); os.rmdir('x')`,
        sandbox(),
        { cwd: R },
      ),
    );
    expect(out).toEqual({
      rename: 'EROFS',
      exchange: 'EROFS',
      'exchange-from': 'EROFS',
      onto: 'EROFS',
      absolute: 'EROFS',
      commands: 'EBUSY',
      write: 'EROFS',
      'same-name-below': 'ok',
    });
    // The attack of the issue, the shell way.
    const r = await unchanged(R, () =>
      sh('mv .claude .claude.old; mkdir -p .claude/commands; echo evil > .claude/commands/deploy.md; echo done', sandbox(), { cwd: R }),
    );
    expect(r.stdout).toBe('done\n');
    expect(r.stderr.split('\n').filter((l) => /Read-only file system/.test(l))).toHaveLength(2);
    expect(fs.readFileSync(path.join(R, '.claude', 'commands', 'deploy.md'), 'utf8')).toBe('host\n');
    const v = cli(['exec', '-v', '--tmp', 'none', '--', '/bin/sh', '-c', 'mv .claude .claude.old; echo done'], R);
    expect(v.stdout).toBe('done\n');
    expect(v.stderr).toContain(
      `protected: ${path.join(R, '.claude')} (leads to a protected path; renaming it, or anything onto it, is refused)`,
    );
    expect(v.stderr).toMatch(/mv: cannot move '.claude' to '.claude.old': Read-only file system/);
  });

  it('.codex -> .auxiliary/cfg/codex: no directory on the way to the bound target can be renamed away', async () => {
    fs.mkdirSync(path.join(R, '.auxiliary', 'cfg', 'codex'), { recursive: true });
    fs.writeFileSync(path.join(R, '.auxiliary', 'cfg', 'codex', 'config.toml'), 'model = "host"\n');
    fs.symlinkSync('.auxiliary/cfg/codex', path.join(R, '.codex'));
    const out = await unchanged(R, () =>
      py(
        `
out['auxiliary'] = attempt(lambda: os.rename('.auxiliary', '.aux.old'))
out['cfg'] = attempt(lambda: os.rename('.auxiliary/cfg', '.auxiliary/cfg.old'))
out['target'] = attempt(lambda: os.rename('.auxiliary/cfg/codex', '.auxiliary/codex.old'))
out['link'] = attempt(lambda: os.unlink('.codex'))
out['write'] = attempt(lambda: open('.codex/config.toml', 'w'))
out['read'] = open('.codex/config.toml').read()`,
        sandbox(),
        { cwd: R },
      ),
    );
    expect(out).toEqual({ auxiliary: 'EROFS', cfg: 'EROFS', target: 'EBUSY', link: 'EBUSY', write: 'EROFS', read: 'model = "host"\n' });
    const r = await unchanged(R, () =>
      sh('mv .auxiliary .aux.old; mkdir -p .auxiliary/cfg/codex; echo evil > .codex/config.toml; echo done', sandbox(), { cwd: R }),
    );
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toMatch(/cannot move '.auxiliary' to '.aux.old': Read-only file system/);
    expect(r.stderr).toMatch(/config.toml: Read-only file system/);
  });

  it('roots R and R/sub with sub/.git: sub cannot be renamed away to make room for a new repository', async () => {
    const sub = path.join(R, 'sub');
    fs.mkdirSync(sub);
    git(sub, 'init', '-q');
    const out = await unchanged(R, () =>
      py(
        `
os.mkdir('other')
out['sub'] = attempt(lambda: os.rename('sub', 'sub.old'))
out['onto-sub'] = sc(${RENAME2}, -100, ctypes.c_char_p(b'other'), -100, ctypes.c_char_p(b'sub'), ${EXCHANGE})
out['hook'] = attempt(lambda: open('sub/.git/hooks/pre-commit', 'w'))
out['other'] = attempt(lambda: os.rename('other', 'other2'))
os.rmdir('other2')`,
        sandbox([R, sub]),
        { cwd: R },
      ),
    );
    expect(out).toEqual({ sub: 'EROFS', 'onto-sub': 'EROFS', hook: 'EROFS', other: 'ok' });
    const r = await unchanged(R, () =>
      sh('mv sub sub.old; mkdir -p sub/.git/hooks && echo evil > sub/.git/hooks/pre-commit; echo done', sandbox([R, sub]), { cwd: R }),
    );
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toMatch(/cannot move 'sub' to 'sub.old': Read-only file system/);
  });

  it('$HOME inside a root: $HOME cannot be renamed away and made anew with a new .bashrc', async () => {
    const home = path.join(R, 'home', 'u');
    fs.mkdirSync(home, { recursive: true });
    fs.writeFileSync(path.join(home, '.bashrc'), 'host\n');
    const env = { ...process.env, HOME: home };
    const out = await unchanged(R, () =>
      py(
        `
out['home'] = attempt(lambda: os.rename(${j(home)}, ${j(home + '.old')}))
out['parent'] = attempt(lambda: os.rename(${j(path.dirname(home))}, ${j(path.dirname(home) + '.old')}))
out['bashrc'] = attempt(lambda: open(${j(path.join(home, '.bashrc'))}, 'w'))`,
        sandbox(),
        { cwd: R, env },
      ),
    );
    expect(out).toEqual({ home: 'EROFS', parent: 'EROFS', bashrc: 'EROFS' });
    const r = await unchanged(R, () =>
      sh('mv "$HOME" "$HOME.old"; mkdir "$HOME"; echo evil > "$HOME/.bashrc"; echo done', sandbox(), { cwd: R, env }),
    );
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toMatch(/cannot move .* Read-only file system/);
    expect(fs.readFileSync(path.join(home, '.bashrc'), 'utf8')).toBe('host\n');
  });

  it('a dangling .codex -> .auxiliary/codex: the missing target cannot be created, by any road', async () => {
    fs.symlinkSync('.auxiliary/codex', path.join(R, '.codex'));
    const out = await unchanged(R, () =>
      py(
        `
out['mkdir-parent'] = attempt(lambda: os.mkdir('.auxiliary'))
out['mkdir'] = attempt(lambda: os.mkdir('.auxiliary/codex'))
out['file'] = attempt(lambda: open('.auxiliary/codex', 'w'))
out['symlink'] = attempt(lambda: os.symlink('/tmp', '.auxiliary/codex'))
out['through-link'] = attempt(lambda: os.mkdir('.codex'))
out['config'] = attempt(lambda: open('.codex/config.toml', 'w'))
os.rmdir('.auxiliary')
os.makedirs('work/codex')
out['tree-onto-parent'] = attempt(lambda: os.rename('work', '.auxiliary'))
out['symlink-parent'] = attempt(lambda: os.symlink('work', '.auxiliary'))
os.rmdir('work/codex'); os.rmdir('work')`,
        sandbox(),
        { cwd: R },
      ),
    );
    expect(out).toEqual({
      'mkdir-parent': 'ok',
      mkdir: 'EROFS',
      file: 'EROFS',
      symlink: 'EROFS',
      'through-link': 'EEXIST',
      config: 'ENOENT',
      'tree-onto-parent': 'EROFS',
      'symlink-parent': 'EROFS',
    });
    const r = await unchanged(R, () =>
      sh('mkdir -p .auxiliary/codex; echo evil > .codex/config.toml; rmdir .auxiliary; echo done', sandbox(), { cwd: R }),
    );
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toMatch(/\.auxiliary\/codex.*: Read-only file system/);
  });

  it('a dangling target behind a file or a "..": .codex -> notdir/codex and .codex -> gone/../cfg', async () => {
    fs.writeFileSync(path.join(R, 'notdir'), 'x');
    fs.symlinkSync('notdir/codex', path.join(R, '.codex'));
    fs.symlinkSync('gone/../cfg', path.join(R, '.agents'));
    const state = () => {
      const t = tree(R);
      delete t.notdir;
      return t;
    }; // notdir is removed and made again below
    const before = state();
    const out = await py(
      `
out['rename-file'] = attempt(lambda: os.rename('notdir', 'n2'))
os.unlink('notdir')
out['mkdir-parent'] = attempt(lambda: os.mkdir('notdir'))
out['mkdir'] = attempt(lambda: os.mkdir('notdir/codex'))
os.rmdir('notdir'); open('notdir', 'w').write('x')
out['gone'] = attempt(lambda: os.mkdir('gone'))
out['cfg'] = attempt(lambda: os.mkdir('cfg'))
os.rmdir('cfg')
out['agents'] = attempt(lambda: open('.agents/x', 'w'))`,
      sandbox(),
      { cwd: R },
    );
    // cfg itself is harmless while gone/ cannot be made: .agents cannot reach it.
    expect(out).toEqual({ 'rename-file': 'EROFS', 'mkdir-parent': 'ok', mkdir: 'EROFS', gone: 'EROFS', cfg: 'ok', agents: 'ENOENT' });
    expect(state()).toEqual(before);
    expect(fs.readFileSync(path.join(R, 'notdir'), 'utf8')).toBe('x');
  });

  it('.claude -> .claude-shared without commands: creating commands is refused under either name, and -v says so truthfully', async () => {
    fs.mkdirSync(path.join(R, '.claude-shared'));
    fs.symlinkSync('.claude-shared', path.join(R, '.claude'));
    const out = await unchanged(R, () =>
      py(
        `
out['logical'] = attempt(lambda: os.mkdir('.claude/commands'))
out['real'] = attempt(lambda: os.mkdir('.claude-shared/commands'))
out['file'] = attempt(lambda: open('.claude/commands', 'w'))
out['unlink-link'] = attempt(lambda: os.unlink('.claude'))
out['rename-link'] = attempt(lambda: os.rename('.claude', 'c'))
out['rename-target'] = attempt(lambda: os.rename('.claude-shared', 'c'))`,
        sandbox(),
        { cwd: R },
      ),
    );
    expect(out).toEqual({
      logical: 'EROFS',
      real: 'EROFS',
      file: 'EROFS',
      'unlink-link': 'EBUSY',
      'rename-link': 'EBUSY',
      'rename-target': 'EROFS',
    });
    const v = cli(['exec', '-v', '--tmp', 'none', '--', '/bin/sh', '-c', 'mkdir .claude/commands; echo done'], R);
    expect(v.stdout).toBe('done\n');
    expect(v.stderr).toMatch(
      new RegExp(
        `protected in ${path.join(R, '.claude-shared').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(missing; creating them is refused\\): .*\\bcommands\\b`,
      ),
    );
    expect(v.stderr).toContain(`read-only: ${path.join(R, '.claude')} (protect .claude/commands (symlink on the way`);
    expect(v.stderr).toMatch(/mkdir: cannot create directory .*\.claude\/commands.*: Read-only file system/);
    expect(fs.readdirSync(path.join(R, '.claude-shared'))).toEqual([]);
    // The rest of .claude stays writable.
    const ok = await py(
      `
out['settings'] = attempt(lambda: open('.claude/settings.json', 'w').write('{}'))`,
      sandbox(),
      { cwd: R },
    );
    expect(ok).toEqual({ settings: 'ok' });
    expect(fs.readFileSync(path.join(R, '.claude-shared', 'settings.json'), 'utf8')).toBe('{}');
  });

  it('.claude -> .claude-shared with commands: the sandbox starts (no ELOOP at pin) and commands is read-only', async () => {
    fs.mkdirSync(path.join(R, '.claude-shared', 'commands'), { recursive: true });
    fs.writeFileSync(path.join(R, '.claude-shared', 'commands', 'deploy.md'), 'host\n');
    fs.symlinkSync('.claude-shared', path.join(R, '.claude'));
    const out = await py(
      `
out['unrelated'] = attempt(lambda: open('notes.txt', 'w').close())
os.unlink('notes.txt')
out['write'] = attempt(lambda: open('.claude/commands/deploy.md', 'w'))
out['new'] = attempt(lambda: open('.claude/commands/evil.md', 'w'))
out['real'] = attempt(lambda: open('.claude-shared/commands/evil.md', 'w'))
out['rename-target'] = attempt(lambda: os.rename('.claude-shared', 'c'))
out['unlink-link'] = attempt(lambda: os.unlink('.claude'))
out['read'] = open('.claude/commands/deploy.md').read()`,
      sandbox(),
      { cwd: R },
    );
    expect(out).toEqual({
      unrelated: 'ok',
      write: 'EROFS',
      new: 'EROFS',
      real: 'EROFS',
      'rename-target': 'EROFS',
      'unlink-link': 'EBUSY',
      read: 'host\n',
    });
    expect(fs.readdirSync(path.join(R, '.claude-shared', 'commands'))).toEqual(['deploy.md']);
    expect(fs.readlinkSync(path.join(R, '.claude'))).toBe('.claude-shared');
  });

  it('a root inside a repository (mono/pkg): .git cannot be created at its top or below it, as a directory, file or link; git init fails', async () => {
    git(R, 'init', '-q');
    const pkg = path.join(R, 'pkg');
    fs.mkdirSync(pkg);
    const state = () => {
      const t = tree(R);
      delete t.pkg;
      return t;
    }; // pkg's mtime moves with src/ below
    const before = state();
    const out = await py(
      `
out['mkdir'] = attempt(lambda: os.mkdir('.git'))
out['file'] = attempt(lambda: open('.git', 'w'))
out['symlink'] = attempt(lambda: os.symlink(${j(path.join(R, '.git'))}, '.git'))
os.makedirs('src')
out['below'] = attempt(lambda: os.mkdir('src/.git'))
os.rmdir('src')`,
      sandbox([pkg]),
      { cwd: pkg },
    );
    expect(out).toEqual({ mkdir: 'EROFS', file: 'EROFS', symlink: 'EROFS', below: 'EROFS' });
    const r = await sh('git init -q; git config core.fsmonitor false; echo done', sandbox([pkg]), {
      cwd: pkg,
      env: { ...process.env, HOME: pkg, GIT_CONFIG_NOSYSTEM: '1' },
    });
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toMatch(/Read-only file system/);
    expect(state()).toEqual(before);
    expect(fs.readdirSync(pkg)).toEqual([]);
  });

  it('a root inside a repository with a .git marker file (no repository): the marker cannot be turned into one', async () => {
    git(R, 'init', '-q');
    const pkg = path.join(R, 'pkg');
    fs.mkdirSync(pkg);
    fs.writeFileSync(path.join(pkg, '.git'), '');
    const out = await unchanged(R, () =>
      py(
        `
out['write'] = attempt(lambda: open('.git', 'w'))
out['unlink'] = attempt(lambda: os.unlink('.git'))`,
        sandbox([pkg]),
        { cwd: pkg },
      ),
    );
    expect(out).toEqual({ write: 'EROFS', unlink: 'EBUSY' });
  });

  it('a read-only carve-out (readOnly: a/config): its parent cannot be renamed away to make the name anew', async () => {
    fs.mkdirSync(path.join(R, 'a'));
    fs.writeFileSync(path.join(R, 'a', 'config'), 'host\n');
    const sb = { ...sandbox(), readOnly: [path.join(R, 'a', 'config')] };
    const out = await unchanged(R, () =>
      py(
        `
out['parent'] = attempt(lambda: os.rename('a', 'a2'))
out['write'] = attempt(lambda: open('a/config', 'w'))`,
        sb,
        { cwd: R },
      ),
    );
    expect(out).toEqual({ parent: 'EROFS', write: 'EROFS' });
    const ok = await py(`out['sibling'] = attempt(lambda: open('a/other', 'w').close())`, sb, { cwd: R });
    expect(ok).toEqual({ sibling: 'ok' }); // the rest of a/ stays writable
    expect(fs.readFileSync(path.join(R, 'a', 'config'), 'utf8')).toBe('host\n');
  });

  it('every protected name present: renames, and for the pins creation and write-opens, are supervised; the chain still holds', async () => {
    // All names of the default list exist, so nothing can be created onto one;
    // only renames of the directories above (.claude) still need init. Not
    // with .git protected: no new .git or HEAD may be made anywhere, which
    // takes init (the repository model), so allowGitWrites here.
    for (const n of ['.codex', '.agents', '.vscode', '.idea', '.claude/commands', '.claude/agents'])
      fs.mkdirSync(path.join(R, n), { recursive: true });
    for (const n of [
      '.bashrc',
      '.bash_profile',
      '.zshrc',
      '.zprofile',
      '.profile',
      '.gitconfig',
      '.gitmodules',
      '.mcp.json',
      '.sbx-native.json',
      'sbx-native.json',
    ])
      fs.writeFileSync(path.join(R, n), '');
    const sb = { ...sandbox(), allowGitWrites: true };
    const out = await unchanged(R, () =>
      py(
        `
out['rename'] = attempt(lambda: os.rename('.claude', '.claude.old'))
out['create'] = attempt(lambda: open('new.txt', 'w').close())
os.unlink('new.txt')`,
        sb,
        { cwd: R },
      ),
    );
    expect(out).toEqual({ rename: 'EROFS', create: 'ok' });
    const p = prepare('/bin/true', [], { sandbox: sb, cwd: R });
    expect(p.plan.layout!.missingProtected).toEqual([]);
    const sup = p.plan.steps.find((s) => s.op === 'supervise');
    expect(sup).toBeDefined();
    const supervised = sup!.args
      .filter((a) => a.startsWith('sys='))
      .map((a) => a.split(':')[1])
      .sort();
    // Renames, the unix-socket rule's calls (always supervised), and what keeps
    // init's memory of the callers' umask and cwd exact (docs/supervisor.md).
    // Creation too, though no protected name is missing: a pin the host detaches
    // mid-run (an editor's save over .bashrc) is guarded only in the calls init
    // sees (gone-at-setup's allowGitWrites case). And the chmod family, whose set-group-ID modes init allows
    // on directories only (docs/threat-model.md, "Set-ID files"), and the opens
    // that can write, truncate(2) by name among them: a second name of sbx-native's own files (protect-tree).
    // The xattr family with them: an access ACL sets a file's mode as chmod does (setfacl u::rwx on a hook).
    const sockets = ['bind', 'connect', 'sendmmsg', 'sendmsg', 'sendto'];
    const fsState = ['chdir', 'clone', 'fchdir', 'setns', 'umask', 'unshare'];
    const x64 = process.arch !== 'arm64';
    const modes = [...(x64 ? ['chmod'] : []), 'fchmod', 'fchmodat', 'fchmodat2'];
    const opens = [...(x64 ? ['open', 'creat'] : []), 'openat', 'truncate'];
    const creation = [...(x64 ? ['link', 'mkdir', 'mknod', 'symlink'] : []), 'linkat', 'mkdirat', 'mknodat', 'symlinkat'];
    const xattrs = ['setxattr', 'lsetxattr', 'fsetxattr', 'removexattr', 'lremovexattr', 'fremovexattr', 'setxattrat', 'removexattrat'];
    expect(supervised).toEqual(
      [...(x64 ? ['rename'] : []), 'renameat', 'renameat2', ...sockets, ...fsState, ...modes, ...opens, ...creation, ...xattrs].sort(),
    );
    expect(sup!.args.some((a) => a.startsWith('git-'))).toBe(false); // allowGitWrites: no repository model
    expect(sup!.args).toContain(`protect-tree=${path.join(repoRoot, 'dist')}`);
    expect(sup!.args).toContain(`protect-dir=${path.join(R, '.claude')}`);
  });
});
